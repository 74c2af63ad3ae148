#include "pipeline/job_command.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "core/error.h"
#include "core/json.h"
#include "core/time.h"

namespace wattrun::pipeline {
namespace fs = std::filesystem;
namespace {

constexpr double kJoulesPerKwh = 3.6e6;

// printf into a std::string.
template <typename... A>
std::string Printf(const char* format, A... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, format, args...);
  return buf;
}

std::string Energy(const std::optional<double>& j) {
  if (!j) return "-";
  return Printf("%.6g J (%.4g kWh)", *j, *j / kJoulesPerKwh);
}

std::string Time(const std::optional<TimeUs>& t) { return t ? FormatUtcIso(*t) : "-"; }

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

// Part of a whole as " (12.3 %)", or "" when the whole is not positive.
std::string Percent(double part, const std::optional<double>& whole) {
  if (!whole || !(*whole > 0)) return "";
  return Printf(" (%.1f %%)", 100 * part / *whole);
}

// Attempt k of n of the row's job id, for the heading.
std::pair<int, int> Attempt(const results::PipelineResults& r, std::size_t row) {
  int k = 0, n = 0;
  for (std::size_t i = 0; i < r.jobs.size(); ++i) {
    if (r.jobs[i].job_id != r.jobs[row].job_id) continue;
    ++n;
    if (i <= row) ++k;
  }
  return {k, n};
}

std::vector<const results::JobNodeRow*> NodesOf(const results::PipelineResults& r, std::size_t row) {
  std::vector<const results::JobNodeRow*> out;
  for (const auto& n : r.job_nodes) {
    if (n.job == row) out.push_back(&n);
  }
  return out;
}

std::string Share(const results::JobNodeRow& n) {
  if (!(n.node_cpus > 0)) return Printf("%g CPUs (node not in nodes.csv)", n.weight_cpus);
  return Printf("%g/%g CPUs (%.1f %%)", n.weight_cpus, n.node_cpus, 100 * n.weight_cpus / n.node_cpus);
}

std::string NodeTable(const std::vector<const results::JobNodeRow*>& nodes) {
  if (nodes.empty()) return "";
  std::string s = Printf("  %-16s %-8s %-31s %8s %10s %14s %14s\n", "node", "type", "share", "samples", "missing s",
                         "energy J", "idle J");
  for (const auto* n : nodes) {
    s += Printf("  %-16s %-8s %-31s %8lld %10.6g %14.6g %14.6g\n", n->node.c_str(),
                n->node_type.empty() ? "-" : n->node_type.c_str(), Share(*n).c_str(),
                static_cast<long long>(n->samples), n->missing_s, n->energy_j, n->idle_energy_j);
  }
  return s;
}

std::string SlurmLine(const results::JobRow& j) {
  if (!j.slurm_energy_j || !(*j.slurm_energy_j > 0))
    return "Slurm energy:  not recorded (ConsumedEnergyRaw empty or 0)\n";
  std::string s = "Slurm energy:  " + Energy(j.slurm_energy_j);
  if (j.energy_j && *j.energy_j > 0) s += Printf(", Slurm / wattrun %.3f", *j.slurm_energy_j / *j.energy_j);
  return s + "\n";
}

std::string DescribeJob(const results::PipelineResults& r, std::size_t row) {
  const results::JobRow& j = r.jobs[row];
  const auto [k, n] = Attempt(r, row);
  std::string s = "Job ID:        " + j.job_id + (n > 1 ? Printf(" (attempt %d of %d)", k, n) : "") + "\n";
  s += "User/account:  " + OrDash(j.user) + " / " + OrDash(j.account) + ", partition " + OrDash(j.partition) + "\n";
  s += "State:         " + OrDash(j.state) + " (status " + j.status + ")\n";
  s += "Window:        " + Time(j.start) + " .. " + Time(j.end);
  if (j.run_time_s) s += Printf(" (%.6g s, %.4g h)", *j.run_time_s, *j.run_time_s / 3600);
  s += "\n";
  s += Printf("Nodes:         %lld", static_cast<long long>(j.nodes)) + " (" + OrDash(j.node_list) + ")";
  if (j.alloc_cpus) s += Printf(", %lld CPUs", static_cast<long long>(*j.alloc_cpus));
  if (j.node_hours) s += Printf(", %.6g node hours", *j.node_hours);
  s += '\n';
  s += NodeTable(NodesOf(r, row));
  if (!j.energy_j) return s + "Energy:        none (the job did not start)\n" + SlurmLine(j);
  s += "Energy:        " + Energy(j.energy_j) + "\n";
  if (j.idle_energy_j) s += "  idle:        " + Energy(j.idle_energy_j) + Percent(*j.idle_energy_j, j.energy_j) + "\n";
  if (j.dynamic_energy_j) {
    s += "  dynamic:     " + Energy(j.dynamic_energy_j) + Percent(*j.dynamic_energy_j, j.energy_j) + "\n";
  }
  s += Printf("Samples:       %lld, missing %.6g s of telemetry\n", static_cast<long long>(j.samples.value_or(0)),
              j.missing_s.value_or(0));
  s += j.carbon_g ? Printf("Carbon:        %.6g g CO2e\n", *j.carbon_g) : "Carbon:        -\n";
  return s + SlurmLine(j);
}

// An instant as ISO 8601 UTC text, or null.
std::string JsonTime(const std::optional<TimeUs>& t) { return t ? json::String(FormatUtcIso(*t)) : "null"; }

std::string NodeJson(const results::JobNodeRow& n) {
  const std::optional<double> share =
      n.node_cpus > 0 ? std::optional<double>(n.weight_cpus / n.node_cpus) : std::nullopt;
  return json::Object({{"node", json::String(n.node.view())},
                       {"node_type", n.node_type.empty() ? "null" : json::String(n.node_type.view())},
                       {"weight_cpus", json::Number(n.weight_cpus)},
                       {"node_cpus", n.node_cpus > 0 ? json::Number(n.node_cpus) : "null"},
                       {"share", json::Number(share)},
                       {"samples", std::to_string(n.samples)},
                       {"missing_s", json::Number(n.missing_s)},
                       {"energy_j", json::Number(n.energy_j)},
                       {"idle_energy_j", json::Number(n.idle_energy_j)}});
}

std::string JobJson(const results::PipelineResults& r, std::size_t row) {
  const results::JobRow& j = r.jobs[row];
  const auto [k, n] = Attempt(r, row);
  std::optional<double> ratio;
  if (j.slurm_energy_j && *j.slurm_energy_j > 0 && j.energy_j && *j.energy_j > 0)
    ratio = *j.slurm_energy_j / *j.energy_j;
  std::vector<std::string> nodes;
  for (const auto* part : NodesOf(r, row)) nodes.push_back(NodeJson(*part));
  return json::Object({{"job_id", json::String(j.job_id)},
                       {"attempt", std::to_string(k)},
                       {"attempts", std::to_string(n)},
                       {"user", json::String(j.user.view())},
                       {"account", json::String(j.account.view())},
                       {"partition", json::String(j.partition.view())},
                       {"state", json::String(j.state.view())},
                       {"status", json::String(j.status.view())},
                       {"node_list", json::String(j.node_list)},
                       {"start", JsonTime(j.start)},
                       {"end", JsonTime(j.end)},
                       {"nodes", std::to_string(j.nodes)},
                       {"alloc_cpus", json::Int(j.alloc_cpus)},
                       {"run_time_s", json::Number(j.run_time_s)},
                       {"node_hours", json::Number(j.node_hours)},
                       {"samples", json::Int(j.samples)},
                       {"missing_s", json::Number(j.missing_s)},
                       {"energy_j", json::Number(j.energy_j)},
                       {"idle_energy_j", json::Number(j.idle_energy_j)},
                       {"dynamic_energy_j", json::Number(j.dynamic_energy_j)},
                       {"carbon_g", json::Number(j.carbon_g)},
                       {"slurm_energy_j", json::Number(j.slurm_energy_j)},
                       {"slurm_ratio", json::Number(ratio)},
                       {"node_parts", json::Array(nodes)}});
}

// An array task's or het component's parent id ("123" of "123_4", "123+0").
bool IsPartOf(const std::string& job_id, const std::string& parent) {
  return job_id.size() > parent.size() && job_id.compare(0, parent.size(), parent) == 0 &&
         (job_id[parent.size()] == '_' || job_id[parent.size()] == '+');
}

}  // namespace

std::vector<std::size_t> FindJobs(const results::PipelineResults& r, const std::vector<std::string>& job_ids,
                                  const std::string& where) {
  std::vector<std::size_t> rows;
  std::string missing;
  for (const auto& id : job_ids) {
    const std::size_t before = rows.size();
    for (std::size_t i = 0; i < r.jobs.size(); ++i) {
      if (r.jobs[i].job_id == id) rows.push_back(i);
    }
    if (rows.size() == before) {
      for (std::size_t i = 0; i < r.jobs.size(); ++i) {
        if (IsPartOf(r.jobs[i].job_id, id)) rows.push_back(i);
      }
    }
    if (rows.size() == before) missing += (missing.empty() ? "" : ", ") + id;
  }
  if (!missing.empty()) {
    throw Error("job " + missing + " not in " + where + " (" + std::to_string(r.jobs.size()) + " jobs there" +
                (r.jobs.empty() ? "; results written before facility accounting? run `wattrun run` again" : "") + ")");
  }
  return rows;
}

std::string DescribeJobs(const results::PipelineResults& r, const std::vector<std::size_t>& rows) {
  std::string out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i) out += '\n';
    out += DescribeJob(r, rows[i]);
  }
  return out;
}

std::string JobsJson(const results::PipelineResults& r, const std::vector<std::size_t>& rows) {
  std::vector<std::string> jobs;
  jobs.reserve(rows.size());
  for (const std::size_t row : rows) jobs.push_back(JobJson(r, row));
  return json::Array(jobs, ",\n ") + "\n";
}

int JobCommand(const JobArgs& args, const Comm& comm) {
  RunCollectively(comm, [&] {
    if (!comm.is_root()) return;
    const fs::path h5 = fs::path(args.output) / "results.h5";
    if (!fs::exists(h5)) {
      throw Error(h5.string() + ": no such file (is " + args.output + " the --output of a finished `wattrun run`?)");
    }
    const auto r = results::ReadResultsH5(h5.string());
    const auto rows = FindJobs(r, args.job_ids, h5.string());
    const std::string text = args.json ? JobsJson(r, rows) : DescribeJobs(r, rows);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  });
  return 0;
}

}  // namespace wattrun::pipeline
