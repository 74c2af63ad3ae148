// How a telemetry batch holds its readings on disk (store version 4).
//
// A reading is a time (int64 µs) and a power (float64): 16 bytes. Real
// telemetry rarely needs them: a batch's times are whole seconds (or ms) a
// few months apart, and its watts integers or a fixed number of decimals.
// Such a batch is written in 8 bytes a reading, exactly:
//   /time   uint32 offsets; time = time_base_us + time_unit_us · offset
//   /watts  int32 codes;    watts = code / watts_scale (IEEE division,
//                           so the code of a parsed "231.4" at scale 10
//                           gives back the very double strtod gave)
// with the batch file's attributes `time_base_us`, `time_unit_us` and
// `watts_scale`. Either column falls back to its plain type (int64 µs,
// float64; no attributes) when one reading of the batch does not round-trip
// bit for bit. Halving the bytes halves the ingest's durable write and the
// pass's read.
//
// The flow, at ingest:
//   EncodingScan scan; scan.Add(...) for every reading a rank writes;
//   BatchEncoding e = scan.AllChoose(comm);   // collective: the same on every rank
//   e.EncodeTimes / EncodeWatts into the write buffers; e.WriteAttributes(batch file)
// and on read: BatchEncoding::ReadAttributes(file), DecodeTimes / DecodeWatts.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/mpi.h"
#include "core/time.h"

namespace wattrun::store {

struct BatchEncoding {
  // 0: times as int64 µs (plain); else the unit of the uint32 offsets.
  std::int64_t time_unit_us = 0;
  TimeUs time_base_us = 0;
  // 0: watts as float64 (plain); else the int32 codes' divisor (10^k).
  std::int64_t watts_scale = 0;

  bool compact_time() const { return time_unit_us > 0; }
  bool compact_watts() const { return watts_scale > 0; }
  std::size_t time_bytes() const { return compact_time() ? 4 : 8; }
  std::size_t watts_bytes() const { return compact_watts() ? 4 : 8; }
  std::size_t bytes_per_reading() const { return time_bytes() + watts_bytes(); }
  // The HDF5 native types of the two columns.
  hid_t time_type() const;
  hid_t watts_type() const;

  // Only for readings the scan that chose this encoding saw (or ones like them).
  void EncodeTimes(const TimeUs* in, std::size_t n, std::uint32_t* out) const;
  void EncodeWatts(const double* in, std::size_t n, std::int32_t* out) const;
  void DecodeTimes(const std::uint32_t* in, std::size_t n, TimeUs* out) const;
  void DecodeWatts(const std::int32_t* in, std::size_t n, double* out) const;
  // After HDF5 converted the stored offsets or codes to int64 / float64.
  void FinishTimes(TimeUs* t, std::size_t n) const;
  void FinishWatts(double* w, std::size_t n) const;

  void WriteAttributes(hid_t file) const;
  // A batch without the attributes is plain (store versions 2 and 3).
  // Throws wattrun::Error naming `path` on a unit or scale no writer makes.
  static BatchEncoding ReadAttributes(hid_t file, const std::string& path);
};

// What a batch's readings allow: mergeable over ranks.
class EncodingScan {
 public:
  void Add(const TimeUs* t, const double* w, std::size_t n);
  void Merge(const EncodingScan& other);
  // The most compact encoding every reading seen round-trips through.
  BatchEncoding Choose() const;
  // Collective: the scans of all ranks merged, then chosen (the same on every rank).
  BatchEncoding AllChoose(const Comm& comm) const;

 private:
  // Decimals (at_least..3) watts w needs as an int32 code, or kNoScale.
  static int DecimalsOf(double w, int at_least);
  static constexpr int kNoScale = 4;
  bool any_ = false;
  TimeUs first_ = 0;
  TimeUs last_ = 0;
  bool whole_seconds_ = true;
  bool whole_millis_ = true;
  int decimals_ = 0;  // the most any reading needs; kNoScale: float64
};

}  // namespace wattrun::store
