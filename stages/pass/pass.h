// The telemetry pass: every rank streams its units (a node over a time
// block) once, integrates the runs on the node (spec step 3) and counts
// every reading's value exactly (for step 6), and the ranks' partials are
// reduced to rank 0. The only stage that reads the readings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/mpi.h"
#include "core/progress.h"
#include "core/quantile.h"
#include "stages/account/account.h"
#include "stages/idle/idle.h"
#include "stages/integrate/integrate.h"
#include "stages/join/join.h"
#include "store/store.h"

namespace wattrun::pass {

struct PassOptions {
  integrate::Method method = integrate::Method::kLinear;
  std::vector<std::pair<std::string, double>> node_quantiles;  // node_power_dist.csv levels
  double idle_quantile = 0.02;
  // facility.telemetry.kind: energy_counter: the store holds cumulative
  // joules, integrated by their interval powers (method is then kStep).
  bool energy_counters = false;
  std::size_t chunk_readings = 1 << 20;  // readings streamed per read
  Progress* progress = nullptr;          // ticked per unit; null: no progress lines

  static PassOptions FromConfig(const Config& config, std::size_t chunk_readings);
};

// What the pass integrates: the windows of the runs that passed the join,
// by node, and each inventory node's type.
struct PassPlan {
  struct RunOnNode {
    std::size_t run = 0;
    TimeUs start = 0;
    TimeUs end = 0;
  };
  std::vector<std::string> types;  // config order
  std::unordered_map<std::string, std::string> type_of_node;
  std::unordered_map<std::string, std::vector<RunOnNode>> runs_on_node;
  std::size_t run_count = 0;
  // Facility accounting (spec section 4) in the same pass; null: runs only.
  const account::AccountSetup* account = nullptr;
  // The carbon intensity steps for the runs' carbon (set with or without
  // accounting); null: no carbon.
  const account::AccountSetup* carbon = nullptr;

  static PassPlan Build(const Config& config, const store::Catalogue& catalogue,
                        const std::vector<join::JoinedRun>& joined);
  // Index of a type in `types`, or -1.
  int TypeIndex(const std::string& node) const;
};

// Rank 0's view after the reduction (other ranks: only the totals).
struct PassResult {
  std::vector<integrate::RunIntegral> run_integrals;  // by run
  std::vector<bool> integrated;                       // false: no unit saw the run's node
  std::vector<double> run_carbon_g;                   // by run: g CO2e of the energy (0 without plan.carbon)
  std::vector<idle::NodeDistribution> nodes;          // sorted by node name
  std::vector<ValueCounts> type_values;               // every reading of each type
  account::AccountPartial account;                    // every unit's job and ledger parts
  std::map<std::pair<std::int64_t, int>, std::int64_t> day_type_readings;  // (UTC day, type index or -1)
  std::int64_t readings = 0;                                               // all ranks
  std::int64_t bytes_read = 0;                                             // all ranks
  std::int64_t counter_resets = 0;  // all ranks: drops of energy counters (quality.csv counter_reset)
  std::int64_t peak_rss_bytes = 0;  // max over ranks
  double seconds = 0;
};

// First and last instant of the store over all nodes (first > last when
// it holds no reading).
std::pair<TimeUs, TimeUs> StoreSpan(store::TelemetryReader& reader);

// Collective.
PassResult RunTelemetryPass(store::TelemetryReader& reader, const PassPlan& plan, const PassOptions& options,
                            const Comm& comm);

}  // namespace wattrun::pass
