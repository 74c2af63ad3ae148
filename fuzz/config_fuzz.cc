// Fuzzes the YAML configuration loader (ParseConfig). Its contract is that
// any text either loads or throws wattrun::Error naming the source; a loaded
// configuration's time zones are then loaded as the commands do.
//
// Any other exception escaping ParseConfig breaks that contract and is a
// crash here. WATTRUN_FUZZ_ALLOW_OTHER_EXCEPTIONS=1 in the environment
// tolerates them, to fuzz on past a known, unfixed case.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>

#include "core/config.h"
#include "core/error.h"
#include "core/time.h"
#include "fuzz/fuzz_support.h"

namespace {

constexpr char kSource[] = "fuzz.yaml";

bool AllowOtherExceptions() {
  static const bool allow = [] {
    const char* value = std::getenv("WATTRUN_FUZZ_ALLOW_OTHER_EXCEPTIONS");
    return value != nullptr && std::string(value) == "1";
  }();
  return allow;
}

void LoadZone(const std::string& name) {
  try {
    wattrun::TimeZone::Load(name);
  } catch (const wattrun::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  wattrun::Config config;
  try {
    config = wattrun::ParseConfig(text, kSource);
  } catch (const wattrun::Error& e) {
    WATTRUN_FUZZ_CHECK(std::string(e.what()).find(kSource) != std::string::npos);
    return 0;
  } catch (const std::exception& e) {
    if (AllowOtherExceptions()) return 0;
    std::fprintf(stderr, "ParseConfig threw %s, not wattrun::Error: %s\n", typeid(e).name(), e.what());
    std::abort();
  }
  WATTRUN_FUZZ_CHECK(!config.facility.node_types.empty());
  WATTRUN_FUZZ_CHECK(!config.facility.hardware_classes.empty());
  for (const auto& type : config.facility.node_types) {
    WATTRUN_FUZZ_CHECK(config.facility.FindClass(type.hardware_class) != nullptr);
    WATTRUN_FUZZ_CHECK(config.facility.MatchSignature(type.signature) == &type);
  }
  for (const auto& hardware_class : config.facility.hardware_classes) {
    const wattrun::NodeTypeConfig* reference = config.facility.FindType(hardware_class.reference_type);
    WATTRUN_FUZZ_CHECK(reference != nullptr && reference->hardware_class == hardware_class.name);
    WATTRUN_FUZZ_CHECK(!hardware_class.memory_levels.empty());
  }
  LoadZone(config.facility.telemetry.timezone);
  LoadZone(config.facility.scheduler.timezone);
  return 0;
}
