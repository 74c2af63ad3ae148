// The batch encoding: which layout a batch's readings allow, and that the
// compact one gives back every reading bit for bit.
#include "store/batch_encoding.h"

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/h5.h"
#include "tests/test_util.h"

#include <gtest/gtest.h>

namespace wattrun::store {
namespace {

BatchEncoding Scan(const std::vector<TimeUs>& t, const std::vector<double>& w) {
  EncodingScan scan;
  scan.Add(t.data(), w.data(), t.size());
  return scan.Choose();
}

// Encodes and decodes; every value must come back to the bit.
void ExpectRoundTrip(const BatchEncoding& e, const std::vector<TimeUs>& t, const std::vector<double>& w) {
  const std::size_t n = t.size();
  std::vector<std::uint32_t> t_code(n);
  std::vector<std::int32_t> w_code(n);
  std::vector<TimeUs> t_back(n);
  std::vector<double> w_back(n);
  ASSERT_TRUE(e.compact_time());
  ASSERT_TRUE(e.compact_watts());
  e.EncodeTimes(t.data(), n, t_code.data());
  e.EncodeWatts(w.data(), n, w_code.data());
  e.DecodeTimes(t_code.data(), n, t_back.data());
  e.DecodeWatts(w_code.data(), n, w_back.data());
  for (std::size_t i = 0; i < n; ++i) {
    EXPECT_EQ(t_back[i], t[i]) << i;
    EXPECT_EQ(std::bit_cast<std::uint64_t>(w_back[i]), std::bit_cast<std::uint64_t>(w[i])) << i << ": " << w[i];
  }
}

TEST(BatchEncoding, WholeSecondsAndIntegerWattsTakeFourBytesEach) {
  const TimeUs t0 = FromSeconds(1633046400);  // 2021-10-01
  const std::vector<TimeUs> t = {t0, t0 + kMicrosPerMinute, t0 + 90 * 24 * 3600 * kMicrosPerSecond};
  const std::vector<double> w = {231, 0, 1800};
  const BatchEncoding e = Scan(t, w);
  EXPECT_EQ(e.time_unit_us, kMicrosPerSecond);
  EXPECT_EQ(e.time_base_us, t0);
  EXPECT_EQ(e.watts_scale, 1);
  EXPECT_EQ(e.bytes_per_reading(), 8U);
  ExpectRoundTrip(e, t, w);
}

TEST(BatchEncoding, DecimalWattsAsParsedComeBackToTheBit) {
  // Values as strtod parses a meter's text: "231.4" is not 231.4 exactly,
  // and code / 10 must be the same double.
  std::mt19937_64 rng(7);
  for (int decimals = 1; decimals <= 3; ++decimals) {
    std::vector<TimeUs> t;
    std::vector<double> w;
    for (int i = 0; i < 20000; ++i) {
      char text[32];
      std::snprintf(text, sizeof text, "%.*f", decimals, static_cast<double>(rng() % 2000000) / 1000.0);
      t.push_back(FromSeconds(1633046400 + 60 * i));
      w.push_back(std::strtod(text, nullptr));
    }
    const BatchEncoding e = Scan(t, w);
    EXPECT_LE(e.watts_scale, std::int64_t{1000}) << decimals;
    EXPECT_GE(e.watts_scale, std::int64_t{10}) << decimals;  // some values need their decimals
    ExpectRoundTrip(e, t, w);
  }
}

TEST(BatchEncoding, TheReadingThatNeedsMostDecimalsChoosesTheScale) {
  const std::vector<TimeUs> t = {0, kMicrosPerSecond, 2 * kMicrosPerSecond};
  EXPECT_EQ(Scan(t, {200, 231.4, 99}).watts_scale, 10);
  EXPECT_EQ(Scan(t, {231.4, 231.25, 1}).watts_scale, 100);
  EXPECT_EQ(Scan(t, {0.5, 0.125, 7}).watts_scale, 1000);
}

TEST(BatchEncoding, AValueNoCodeHoldsKeepsTheBatchInFloat64) {
  const std::vector<TimeUs> t = {0, kMicrosPerSecond};
  EXPECT_FALSE(Scan(t, {200, 0.1 + 0.2}).compact_watts());  // 0.30000000000000004
  EXPECT_FALSE(Scan(t, {200, -0.0}).compact_watts());       // its sign would be lost
  EXPECT_FALSE(Scan(t, {200, std::nan("")}).compact_watts());
  EXPECT_FALSE(Scan(t, {200, 3e9}).compact_watts());          // past int32
  EXPECT_FALSE(Scan(t, {200, 3e6 + 0.125}).compact_watts());  // 3e9 at scale 1000
  EXPECT_TRUE(Scan(t, {200, 2e9}).compact_watts());
  EXPECT_TRUE(Scan(t, {200, 2e9}).compact_time());  // the times stay compact
}

TEST(BatchEncoding, TheTimeUnitIsTheCoarsestEveryTimeIsAMultipleOf) {
  const TimeUs t0 = FromSeconds(1633046400);
  EXPECT_EQ(Scan({t0, t0 + 1500}, {1, 1}).time_unit_us, 1);  // 1.5 ms apart
  EXPECT_EQ(Scan({t0, t0 + 1000}, {1, 1}).time_unit_us, 1000);
  EXPECT_EQ(Scan({t0, t0 + 2000 * kMicrosPerSecond}, {1, 1}).time_unit_us, kMicrosPerSecond);
  // Before 1970 too: the base is the first time, not 0.
  EXPECT_EQ(Scan({-5 * kMicrosPerSecond, 3 * kMicrosPerSecond}, {1, 1}).time_unit_us, kMicrosPerSecond);
  ExpectRoundTrip(Scan({-5 * kMicrosPerSecond, 3 * kMicrosPerSecond}, {1, 1}),
                  {-5 * kMicrosPerSecond, 3 * kMicrosPerSecond}, {1, 1});
}

TEST(BatchEncoding, ASpanPastFourBillionUnitsKeepsTheTimesInInt64) {
  // µs times over two hours: 7.2e9 units of 1 µs.
  EXPECT_FALSE(Scan({0, 7200 * kMicrosPerSecond + 1}, {1, 1}).compact_time());
  // ms times over two months: 5.2e9 units of 1 ms.
  EXPECT_FALSE(Scan({0, 61LL * 24 * 3600 * kMicrosPerSecond + 1000}, {1, 1}).compact_time());
  // Whole seconds fit 136 years.
  EXPECT_TRUE(Scan({0, 100LL * 365 * 24 * 3600 * kMicrosPerSecond}, {1, 1}).compact_time());
  EXPECT_TRUE(Scan({0, 61LL * 24 * 3600 * kMicrosPerSecond + 1000}, {1, 1}).compact_watts());
}

TEST(BatchEncoding, MergedScansChooseWhatEveryPartAllows) {
  EncodingScan a, b, empty;
  const std::vector<TimeUs> ta = {10 * kMicrosPerSecond, 20 * kMicrosPerSecond};
  const std::vector<TimeUs> tb = {5 * kMicrosPerSecond, 7 * kMicrosPerSecond + 1000};
  const std::vector<double> wa = {1.5, 2}, wb = {3, 4};
  a.Add(ta.data(), wa.data(), 2);
  b.Add(tb.data(), wb.data(), 2);
  a.Merge(empty);
  a.Merge(b);
  const BatchEncoding e = a.Choose();
  EXPECT_EQ(e.time_unit_us, 1000);
  EXPECT_EQ(e.time_base_us, 5 * kMicrosPerSecond);
  EXPECT_EQ(e.watts_scale, 10);
  EXPECT_FALSE(EncodingScan{}.Choose().compact_time());  // no reading: plain
}

TEST(BatchEncoding, AttributesRoundTripAndAnUnknownUnitIsDamage) {
  testing_util::ScratchDir dir("wattrun_batch_encoding_" + testing_util::CurrentTestName());
  const std::string path = (dir.path() / "b.h5").string();
  BatchEncoding e;
  e.time_unit_us = 1000;
  e.time_base_us = -42;
  e.watts_scale = 100;
  {
    h5::File f = h5::File::Open(path, h5::Mode::kCreate);
    e.WriteAttributes(f.id());
  }
  {
    h5::File f = h5::File::Open(path, h5::Mode::kReadWrite);
    const BatchEncoding back = BatchEncoding::ReadAttributes(f.id(), path);
    EXPECT_EQ(back.time_unit_us, 1000);
    EXPECT_EQ(back.time_base_us, -42);
    EXPECT_EQ(back.watts_scale, 100);
    h5::SetAttribute(f.id(), "time_unit_us", std::int64_t{60});
  }
  h5::File f = h5::File::Open(path, h5::Mode::kReadOnly);
  try {
    BatchEncoding::ReadAttributes(f.id(), path);
    FAIL() << "a unit of 60 µs was accepted";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("b.h5: batch is damaged: time_unit_us 60"), std::string::npos) << err.what();
  }
}

TEST(BatchEncoding, ABatchWithoutAttributesIsPlain) {
  testing_util::ScratchDir dir("wattrun_batch_encoding_" + testing_util::CurrentTestName());
  const std::string path = (dir.path() / "b.h5").string();
  { h5::File f = h5::File::Open(path, h5::Mode::kCreate); }
  h5::File f = h5::File::Open(path, h5::Mode::kReadOnly);
  const BatchEncoding e = BatchEncoding::ReadAttributes(f.id(), path);
  EXPECT_FALSE(e.compact_time());
  EXPECT_FALSE(e.compact_watts());
  EXPECT_EQ(e.bytes_per_reading(), 16U);
}

}  // namespace
}  // namespace wattrun::store
