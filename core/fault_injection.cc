#include "core/fault_injection.h"

#include <cstdlib>
#include <string>

#include "core/error.h"

namespace wattrun {

void MaybeInjectFault(const char* point, int rank) {
  static const char* spec = std::getenv("WATTRUN_FAULT");
  if (!spec) return;
  const std::string s(spec);
  const std::string expected = "throw:" + std::to_string(rank) + ":" + point;
  if (s == expected) throw Error(std::string("injected fault (WATTRUN_FAULT=") + s + ")");
}

}  // namespace wattrun
