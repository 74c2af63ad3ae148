// Fault injection for the fault tests: WATTRUN_FAULT=throw:RANK:POINT makes
// rank RANK throw wattrun::Error at the named point (e.g. "pass", "ingest",
// "before-collective"). Unset (always, in production) it costs one getenv
// per call site and run.
#pragma once

namespace wattrun {

void MaybeInjectFault(const char* point, int rank);

}  // namespace wattrun
