// The tables of schema.h: each results column, declared once.
#include "stages/results/schema.h"

namespace wattrun::results::schema {
namespace {
using codec::OptTime;
using codec::Word;
constexpr Csv kNo = Csv::kNo;
constexpr Csv kLast = Csv::kLast;
}  // namespace

const Table<RunRow>& RunsTable() {
  using R = RunRow;
  static const Table<R> table = {
      Of("run_id", &R::run_id, "text", "BUTTER run id"),
      Of("experiment_id", &R::experiment_id, "text", "BUTTER experiment id", kNo),
      Of("slurm_job_id", &R::slurm_job_id, "text", "Slurm job id of the run"),
      Of("node", &R::node, "text", "node host name"),
      As<Word>("node_type", &R::node_type, "text", "node type"),
      Of("is_gpu", &R::is_gpu, "1", "GPU hardware (uint8: 1 true, 0 false)"),
      As<Word>("status", &R::status, "text", "status (spec section 2)"),
      Of("run_time", &R::run_time_s, "s", "run time (NaN: unknown)"),
      Of("samples", &R::samples, "1", "power readings in the window (-1: not measured)"),
      Of("energy", &R::energy_j, "J", "energy integrated from the node power readings (NaN: not measured)"),
      Of("filter_1", &R::filter_1, "1",
         "run removed by filter 1 (run time over the limit) (int8: 1 true, 0 false, -1 not applied: the run is not "
         "ok)"),
      Of("filter_3", &R::filter_3, "1",
         "run removed by filter 3 (energy outlier in its group) (int8: 1 true, 0 false, -1 not applied: the run is not "
         "ok)"),
      Of("filter_3_stdevs", &R::filter_3_stdevs, "1", "standard deviations from the group's mean log energy"),
      Of("filter", &R::filter, "1",
         "run removed by filter_1 or filter_3 (int8: 1 true, 0 false, -1 not applied: the run is not ok)"),
      Of("std_energy", &R::std_energy_j, "J", "energy standardized to the class's reference node type"),
      Of("non_overhead_energy", &R::non_overhead_energy_j, "J", "standardized energy less the class's energy overhead"),
      Of("non_overhead_run_time", &R::non_overhead_run_time_s, "s", "run time less the class's run-time overhead"),
      Of("dataset", &R::dataset, "text", "data set name"),
      Of("shape", &R::shape, "text", "network shape"),
      Of("depth", &R::depth, "1", "number of layers"),
      Of("size", &R::size, "1", "target number of parameters"),
      Of("batch_size", &R::batch_size, "1", "training batch size", kNo),
      Of("usable", &R::usable, "1", "run is ok and not filtered (uint8: 1 true, 0 false)", kNo),
      Of("idle_energy", &R::idle_energy_j, "J", "energy at the node type's idle power over the window", Csv::kYes,
         /*optional=*/true),
      Of("dynamic_energy", &R::dynamic_energy_j, "J", "energy above the node type's idle power", Csv::kYes,
         /*optional=*/true),
  };
  return table;
}

const Table<JobRow>& JobsTable() {
  using R = JobRow;
  static const Table<R> table = {
      Of("job_id", &R::job_id, "text", "Slurm job id as sacct writes it (123, 123_4, 123+0)"),
      Of("user", &R::user, "text", "Slurm user"),
      Of("account", &R::account, "text", "Slurm account"),
      Of("partition", &R::partition, "text", "Slurm partition"),
      Of("state", &R::state, "text", "Slurm job state"),
      As<Word>("status", &R::status, "text", "status (spec section 2)"),
      Of("node_list", &R::node_list, "text", "Slurm node list expression", kLast),
      As<OptTime>("start", &R::start, "us since 1970-01-01 UTC", "start of the window (int64 min: unknown)"),
      As<OptTime>("end", &R::end, "us since 1970-01-01 UTC", "end of the window (int64 min: unknown)"),
      Of("nodes", &R::nodes, "1", "number of nodes"),
      Of("alloc_cpus", &R::alloc_cpus, "1", "CPUs allocated to the job (-1: unknown)"),
      Of("run_time", &R::run_time_s, "s", "run time (NaN: unknown)"),
      Of("node_hours", &R::node_hours, "h", "node hours"),
      Of("samples", &R::samples, "1", "power readings in the window (-1: not measured)"),
      Of("missing_s", &R::missing_s, "s", "time without telemetry in the window"),
      Of("energy", &R::energy_j, "J", "energy integrated from the node power readings (NaN: not measured)"),
      Of("idle_energy", &R::idle_energy_j, "J", "energy at the node type's idle power over the window"),
      Of("dynamic_energy", &R::dynamic_energy_j, "J", "energy above the node type's idle power"),
      Of("carbon_g", &R::carbon_g, "g CO2e", "carbon emissions of the energy (PUE and intensity applied)"),
      Of("slurm_energy", &R::slurm_energy_j, "J", "Slurm's ConsumedEnergy (NaN: not recorded)"),
  };
  return table;
}

const Table<JobNodeRow>& JobNodesTable() {
  using R = JobNodeRow;
  static const Table<R> table = {
      Of("job", &R::job, "1", "row index into /jobs_energy", kNo),
      Of("node", &R::node, "text", "node host name", kNo),
      Of("node_type", &R::node_type, "text", "node type", kNo),
      Of("weight_cpus", &R::weight_cpus, "1", "CPUs of the job on the node (its share's weight)", kNo),
      Of("node_cpus", &R::node_cpus, "1", "CPUs of the node", kNo),
      Of("samples", &R::samples, "1", "power readings in the window (-1: not measured)", kNo),
      Of("missing_s", &R::missing_s, "s", "time without telemetry in the window", kNo),
      Of("energy", &R::energy_j, "J", "energy integrated from the node power readings (NaN: not measured)", kNo),
      Of("idle_energy", &R::idle_energy_j, "J", "energy at the node type's idle power over the window", kNo),
  };
  return table;
}

const Table<UsageRow>& UsageTable() {
  using R = UsageRow;
  static const Table<R> table = {
      As<Word>("month", &R::month, "text", "calendar month, YYYY-MM (UTC)"),
      Of("partition", &R::partition, "text", "Slurm partition"),
      Of("account", &R::account, "text", "Slurm account"),
      Of("user", &R::user, "text", "Slurm user"),
      Of("jobs", &R::jobs, "1", "number of jobs"),
      Of("node_hours", &R::node_hours, "h", "node hours"),
      Of("energy", &R::energy_j, "J", "energy integrated from the node power readings (NaN: not measured)"),
      Of("idle_energy", &R::idle_energy_j, "J", "energy at the node type's idle power over the window"),
      Of("dynamic_energy", &R::dynamic_energy_j, "J", "energy above the node type's idle power"),
      Of("carbon_g", &R::carbon_g, "g CO2e", "carbon emissions of the energy (PUE and intensity applied)"),
  };
  return table;
}

const Table<LedgerRow>& LedgerTable() {
  using R = LedgerRow;
  static const Table<R> table = {
      As<Word>("month", &R::month, "text", "calendar month, YYYY-MM (UTC)"),
      Of("node_type", &R::node_type, "text", "node type"),
      Of("nodes", &R::nodes, "1", "number of nodes"),
      Of("readings", &R::readings, "1", "number of power readings"),
      Of("metered_energy", &R::metered_energy_j, "J", "energy metered on the nodes"),
      Of("job_energy", &R::job_energy_j, "J", "energy received by jobs"),
      Of("unallocated_energy", &R::unallocated_energy_j, "J", "metered energy no job received"),
      Of("missing_s", &R::missing_s, "s", "time without telemetry in the window"),
  };
  return table;
}

const Table<QualityFileRow>& QualityFilesTable() {
  using R = QualityFileRow;
  static const Table<R> table = {
      As<Word>("stage", &R::stage, "text",
               "input the rows came from (telemetry, sacct, runs, nodes, datasets, losses, carbon_intensity)"),
      Of("file", &R::file, "text", "input file, relative to the facility directory"),
      As<Word>("reason", &R::reason, "text", "why the rows were set aside (as in quality.csv)"),
      Of("count", &R::count, "1", "rows of the file set aside for the reason (always > 0)"),
  };
  return table;
}

}  // namespace wattrun::results::schema
