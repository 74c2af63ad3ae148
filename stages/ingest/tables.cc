#include "stages/ingest/tables.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string_view>
#include <unordered_map>

#include "core/csv.h"
#include "core/error.h"
#include "core/hostlist.h"

namespace wattrun {

namespace {

// A quoted field may hold newlines; a record spanning more lines than this
// is taken as an unterminated quote.
constexpr int kMaxLinesPerRecord = 100000;

// Counts bad rows of one file by reason, to report them sorted by reason.
class BadRowTally {
 public:
  BadRowTally(std::string stage, std::string file) : stage_(std::move(stage)), file_(std::move(file)) {}
  void Add(const std::string& reason) { ++counts_[reason]; }
  std::vector<BadRowCount> Finish() const {
    std::vector<BadRowCount> out;
    for (const auto& [reason, count] : counts_) out.push_back({stage_, file_, reason, count});
    return out;
  }

 private:
  std::string stage_;
  std::string file_;
  std::map<std::string, std::int64_t> counts_;
};

// Reads CSV records (one or more lines each, when a quoted field holds a
// newline) and splits them into fields, skipping blank lines.
class CsvRecordReader {
 public:
  explicit CsvRecordReader(const std::string& path) : reader_(path) {}

  // False at end of file. *complete is false for a record whose quote never
  // closes (its fields are then not usable).
  bool Next(std::vector<std::string_view>* fields, bool* complete) {
    std::string_view line;
    do {
      if (!reader_.Next(&line)) return false;
    } while (Trim(line).empty());
    first_line_ = reader_.line_number();
    if (SplitCsvLine(line, ',', fields, &storage_)) {
      *complete = true;
      return true;
    }
    joined_.assign(line);
    for (int extra = 0; extra < kMaxLinesPerRecord; ++extra) {
      if (!reader_.Next(&line)) break;
      joined_.push_back('\n');
      joined_.append(line);
      if (SplitCsvLine(joined_, ',', fields, &storage_)) {
        *complete = true;
        return true;
      }
    }
    *complete = false;
    return true;
  }

  // Line of the record last returned (its first line).
  std::int64_t first_line() const { return first_line_; }
  const std::string& path() const { return reader_.path(); }

 private:
  LineReader reader_;
  std::string storage_;
  std::string joined_;
  std::int64_t first_line_ = 0;
};

// The header of a CSV table, or false if the file is empty.
bool ReadCsvHeader(CsvRecordReader* reader, CsvHeader* header) {
  std::vector<std::string_view> fields;
  bool complete = false;
  if (!reader->Next(&fields, &complete)) return false;
  if (!complete) throw InputError(reader->path(), reader->first_line(), "unterminated quote in header");
  *header = CsvHeader(fields);
  return true;
}

std::vector<std::size_t> RequireColumns(const CsvHeader& header, const std::vector<std::string_view>& names,
                                        const std::string& file) {
  std::vector<std::size_t> columns;
  columns.reserve(names.size());
  for (const auto name : names) columns.push_back(static_cast<std::size_t>(header.Require(name, file)));
  return columns;
}

// One well-formed record of a CSV table: row[i] is the (untrimmed) field of
// the i-th required column.
struct CsvRow {
  const std::vector<std::string_view>& fields;
  const std::vector<std::size_t>& column;
  std::string_view operator[](std::size_t required) const { return fields[column[required]]; }
};

// The frame of the tables whose bad rows are only counted (nodes, datasets,
// losses): header (an empty file has no rows), required columns, then each
// record in turn. A record with an unterminated quote or with another number
// of fields than the header counts as field_count; every other goes to
// parse_row(row, &records), which returns the bad-row reason to count, or "".
template <typename Record, typename ParseRow>
TableParseResult<Record> ParseCountedTable(const std::string& path, const std::string& stage,
                                           const std::vector<std::string_view>& required, ParseRow&& parse_row) {
  TableParseResult<Record> result;
  BadRowTally tally(stage, path);
  CsvRecordReader reader(path);
  CsvHeader header;
  if (!ReadCsvHeader(&reader, &header)) return result;
  const auto column = RequireColumns(header, required, path);
  std::vector<std::string_view> fields;
  bool complete = false;
  while (reader.Next(&fields, &complete)) {
    ++result.rows;
    if (!complete || fields.size() != header.size()) {
      tally.Add("field_count");
      continue;
    }
    const std::string reason = parse_row(CsvRow{fields, column}, &result.records);
    if (!reason.empty()) tally.Add(reason);
  }
  result.bad_rows = tally.Finish();
  return result;
}

// An integer, or a decimal with an integral value (`1024.0`, as pandas writes
// integer columns that had a missing value).
bool ParseCount(std::string_view text, std::int64_t* value) {
  text = Trim(text);
  if (ParseInt64(text, value)) return true;
  double d = 0;
  if (!ParseDouble(text, &d) || d != std::floor(d) || std::fabs(d) > 9.0e15) return false;
  *value = static_cast<std::int64_t>(d);
  return true;
}

void SplitPipes(std::string_view line, std::vector<std::string_view>* fields) {
  fields->clear();
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::size_t start = 0;
  for (;;) {
    const std::size_t bar = line.find('|', start);
    if (bar == std::string_view::npos) {
      fields->push_back(line.substr(start));
      return;
    }
    fields->push_back(line.substr(start, bar - start));
    start = bar + 1;
  }
}

bool IsDigits(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

enum class JobIdKind { kAllocation, kStep, kInvalid };

// `123`, `123_4`, `123_[1-5%2]` (pending array), `123+0` are allocations;
// anything with a `.` after a valid allocation id is a step.
JobIdKind ClassifyJobId(std::string_view id) {
  std::string_view allocation = id;
  bool step = false;
  const std::size_t dot = id.find('.');
  if (dot != std::string_view::npos) {
    allocation = id.substr(0, dot);
    if (dot + 1 >= id.size()) return JobIdKind::kInvalid;
    step = true;
  }
  const std::size_t mark = allocation.find_first_of("_+");
  if (!IsDigits(allocation.substr(0, mark))) return JobIdKind::kInvalid;
  if (mark != std::string_view::npos) {
    const std::string_view rest = allocation.substr(mark + 1);
    const bool pending_array = allocation[mark] == '_' && rest.size() >= 2 && rest.front() == '[' && rest.back() == ']';
    if (!IsDigits(rest) && !pending_array) return JobIdKind::kInvalid;
  }
  return step ? JobIdKind::kStep : JobIdKind::kAllocation;
}

bool IsValidHostlist(std::string_view expression) {
  try {
    ExpandHostlist(expression);
    return true;
  } catch (const Error&) {
    return false;
  }
}

// Reads one sacct time; returns the bad-row reason, or "" when it parsed.
// All digits is epoch seconds, UTC (SLURM_TIME_FORMAT=%s).
std::string ParseSacctTime(std::string_view text, const TimestampPolicy& policy, TimeUs* earlier, TimeUs* later) {
  if (IsDigits(text)) {
    std::int64_t seconds = 0;
    // Beyond year 5000 is not a time sacct writes (and far from overflowing µs).
    if (!ParseInt64(text, &seconds) || seconds > 95617584000LL) return "bad_time";
    *earlier = *later = FromSeconds(seconds);
    return "";
  }
  std::int64_t wall_us = 0;
  switch (ParseInstant(text, policy, earlier, &wall_us)) {
    case TimeParseStatus::kOk:
      *later = *earlier;
      return "";
    case TimeParseStatus::kAmbiguous:
      *later = policy.zone.FromLocal(wall_us).later;
      return "";
    case TimeParseStatus::kNonexistent:
      return "nonexistent_time";
    case TimeParseStatus::kBadSyntax:
      break;
  }
  return "bad_time";
}

// Where the columns of a sacct file are; optional ones are -1 when absent.
struct SacctColumns {
  std::size_t job_id = 0, node_list = 0, start = 0, end = 0, state = 0;
  int user = -1, account = -1, partition = -1, alloc_cpus = -1, alloc_tres = -1, consumed_energy = -1;
};

// False (and *missing set) if a required column is absent.
bool ResolveSacctHeader(const CsvHeader& header, SacctColumns* c, std::string* missing) {
  const std::pair<const char*, std::size_t*> required[] = {
      {"JobID", &c->job_id}, {"NodeList", &c->node_list}, {"Start", &c->start}, {"End", &c->end}, {"State", &c->state}};
  for (const auto& [name, column] : required) {
    const int at = header.Find(name);
    if (at < 0) {
      *missing = name;
      return false;
    }
    *column = static_cast<std::size_t>(at);
  }
  c->user = header.Find("User");
  c->account = header.Find("Account");
  c->partition = header.Find("Partition");
  c->alloc_cpus = header.Find("AllocCPUS");
  c->alloc_tres = header.Find("AllocTRES");
  c->consumed_energy = header.Find("ConsumedEnergyRaw");
  return true;
}

// Slurm's "no value" for 64-bit counters (NO_VAL64 = 2^64 - 2, INFINITE64)
// and anything else from 2^63 on: no energy was measured.
constexpr double kNoEnergyFrom = 9223372036854775808.0;

// ConsumedEnergyRaw: false if unreadable; empty or NO_VAL-like leaves it absent.
bool ParseConsumedEnergy(std::string_view text, std::optional<double>* joules) {
  if (text.empty()) return true;
  if (IsDigits(text)) {
    // Parsed as a double: NO_VAL64 does not fit an int64.
    double value = 0;
    for (const char c : text) value = value * 10 + (c - '0');
    if (value < kNoEnergyFrom) *joules = value;
    return true;
  }
  double value = 0;
  if (!ParseDouble(text, &value) || !std::isfinite(value) || value < 0) return false;
  if (value < kNoEnergyFrom) *joules = value;
  return true;
}

// The optional columns of one sacct line into job; each unreadable value is
// counted and leaves its field absent.
void ParseSacctOptionalFields(const std::vector<std::string_view>& fields, const SacctColumns& c, JobRecord* job,
                              BadRowTally* tally) {
  const auto field = [&](int column) {
    return column < 0 ? std::string_view() : Trim(fields[static_cast<std::size_t>(column)]);
  };
  job->user = field(c.user);
  job->account = field(c.account);
  job->partition = field(c.partition);
  const std::string_view cpus = field(c.alloc_cpus);
  std::int64_t count = 0;
  if (!cpus.empty() && (!ParseInt64(cpus, &count) || count < 0)) {
    tally->Add("bad_alloc_cpus");
  } else if (count > 0) {
    job->alloc_cpus = count;  // 0 (a pending job) is absent
  }
  std::optional<std::int64_t> tres_cpus, tres_gpus;
  if (!ParseAllocTres(field(c.alloc_tres), &tres_cpus, &tres_gpus)) tally->Add("bad_alloc_tres");
  job->tres_cpus = tres_cpus, job->tres_gpus = tres_gpus;
  std::optional<double> consumed;
  if (!ParseConsumedEnergy(field(c.consumed_energy), &consumed)) tally->Add("bad_consumed_energy");
  job->consumed_energy_j = consumed;
}

// Start and End of one line into job; returns the bad-row reason, or "".
std::string ParseSacctWindow(std::string_view start, std::string_view end, const TimestampPolicy& policy,
                             JobRecord* job) {
  std::string reason;
  if (start == "Unknown" || start == "None") {
    job->has_start = false;
  } else {
    TimeUs later = 0;
    reason = ParseSacctTime(start, policy, &job->start, &later);
  }
  if (reason.empty() && end != "Unknown" && end != "None") {
    TimeUs earlier = 0, later = 0;
    reason = ParseSacctTime(end, policy, &earlier, &later);
    if (reason.empty()) {
      job->end = (job->has_start && earlier < job->start) ? later : earlier;
      if (job->has_start && *job->end < job->start) reason = "negative_window";
    }
  }
  return reason;
}

// A sacct file whose header lacks a required column: the warning, and every
// line counted as bad_header (a first line that is no job line is a header).
// Returns the lines counted.
std::int64_t CountHeaderlessSacct(LineReader* reader, std::string_view first_line, const std::string& missing,
                                  const std::string& file, BadRowTally* tally, std::vector<std::string>* warnings) {
  std::vector<std::string_view> fields;
  SplitPipes(first_line, &fields);
  std::int64_t lines = ClassifyJobId(Trim(fields[0])) != JobIdKind::kInvalid ? 1 : 0;
  std::string_view line;
  while (reader->Next(&line)) lines += Trim(line).empty() ? 0 : 1;
  for (std::int64_t i = 0; i < lines; ++i) tally->Add("bad_header");
  warnings->push_back(file + ": sacct header lacks column '" + missing +
                      "' (exported without -o, or with --noheader?); every line is counted as a bad row "
                      "(bad_header). Export it with: " +
                      SacctCommandLine());
  return lines;
}

bool StartsWith(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// Keeps the first row of each run_id (rows without one are all kept); the
// others are counted as duplicate_run_id and named in a warning (up to 10).
void DropRepeatedRunIds(const std::string& path, TableParseResult<RunRecord>* result, BadRowTally* tally) {
  constexpr std::size_t kNamed = 10;
  std::unordered_map<std::string, bool> seen;  // run_id -> seen again
  std::vector<std::string> named;
  std::int64_t dropped = 0, repeated_ids = 0;
  std::vector<RunRecord> kept;
  kept.reserve(result->records.size());
  for (RunRecord& run : result->records) {
    const auto [it, first] = run.run_id.empty() ? std::pair{seen.end(), true} : seen.emplace(run.run_id, false);
    if (first) {
      kept.push_back(std::move(run));
      continue;
    }
    tally->Add("duplicate_run_id");
    ++dropped;
    if (!it->second) {
      ++repeated_ids;
      if (named.size() < kNamed) named.push_back(it->first);
    }
    it->second = true;
  }
  result->records = std::move(kept);
  if (dropped == 0) return;
  std::string ids;
  for (const auto& id : named) ids += (ids.empty() ? "" : ", ") + id;
  if (repeated_ids > static_cast<std::int64_t>(named.size())) {
    ids += " and " + std::to_string(repeated_ids - static_cast<std::int64_t>(named.size())) + " more";
  }
  result->warnings.push_back(path + ": " + std::to_string(dropped) +
                             " rows repeat a run_id (counted as duplicate_run_id, the first row kept): " + ids);
}

}  // namespace

std::string SacctCommandLine() {
  return "sacct --allusers --duplicates --parsable2 --starttime=YYYY-MM-DD --endtime=YYYY-MM-DD "
         "--format=JobID,NodeList,Start,End,State,User,Account,Partition,AllocCPUS,AllocTRES,ConsumedEnergyRaw";
}

bool ParseAllocTres(std::string_view text, std::optional<std::int64_t>* cpus, std::optional<std::int64_t>* gpus) {
  cpus->reset();
  gpus->reset();
  text = Trim(text);
  if (text.empty()) return true;
  std::optional<std::int64_t> cpu, untyped_gpus, typed_gpus;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const std::size_t eq = item.find('=');
    if (eq == 0 || eq == std::string_view::npos) return false;
    const std::string_view key = Trim(item.substr(0, eq));
    const std::string_view value = Trim(item.substr(eq + 1));
    // gres/gpumem, gres/gpuutil and the like are not GPU counts.
    const bool typed = StartsWith(key, "gres/gpu:");
    if (key != "cpu" && key != "gres/gpu" && !typed) continue;  // mem=85G, billing=, node=, ...
    std::int64_t n = 0;
    if (!ParseInt64(value, &n) || n < 0) return false;
    if (key == "cpu") {
      cpu = n;
    } else if (typed) {
      typed_gpus = typed_gpus.value_or(0) + n;
    } else {
      untyped_gpus = n;
    }
  }
  if (cpu && *cpu > 0) *cpus = cpu;
  *gpus = untyped_gpus ? untyped_gpus : typed_gpus;
  return true;
}

TableParseResult<JobRecord> ParseSacctFile(const std::string& path, const TimestampPolicy& policy,
                                           const std::string& file_name) {
  const std::string& file = file_name.empty() ? path : file_name;
  TableParseResult<JobRecord> result;
  BadRowTally tally("sacct", file);
  LineReader reader(path);
  std::string_view line;
  if (!reader.Next(&line)) return result;
  const std::string header_line(line);
  std::vector<std::string_view> fields;
  SplitPipes(header_line, &fields);
  const CsvHeader header(fields);
  SacctColumns column;
  std::string missing;
  if (!ResolveSacctHeader(header, &column, &missing)) {
    result.rows = CountHeaderlessSacct(&reader, header_line, missing, file, &tally, &result.warnings);
    result.bad_rows = tally.Finish();
    return result;
  }
  const std::string_view header_text = Trim(header_line);
  while (reader.Next(&line)) {
    if (Trim(line).empty() || Trim(line) == header_text) continue;
    SplitPipes(line, &fields);
    if (fields.size() != header.size()) {
      ++result.rows;
      tally.Add("field_count");
      continue;
    }
    const std::string_view job_id = Trim(fields[column.job_id]);
    const JobIdKind kind = ClassifyJobId(job_id);
    if (kind == JobIdKind::kStep) continue;
    ++result.rows;
    if (kind == JobIdKind::kInvalid) {
      tally.Add("bad_job_id");
      continue;
    }
    JobRecord job;
    job.job_id = job_id;
    job.node_list = Trim(fields[column.node_list]);
    job.state = Trim(fields[column.state]);
    if (!IsValidHostlist(job.node_list)) {
      tally.Add("bad_hostlist");
      continue;
    }
    const std::string reason = ParseSacctWindow(Trim(fields[column.start]), Trim(fields[column.end]), policy, &job);
    if (!reason.empty()) {
      tally.Add(reason);
      continue;
    }
    ParseSacctOptionalFields(fields, column, &job, &tally);
    job.file = file;
    job.line = reader.line_number();
    result.records.push_back(std::move(job));
  }
  result.bad_rows = tally.Finish();
  return result;
}

TableParseResult<RunRecord> ParseRunsFile(const std::string& path) {
  TableParseResult<RunRecord> result;
  BadRowTally tally("runs", path);
  CsvRecordReader reader(path);
  CsvHeader header;
  if (!ReadCsvHeader(&reader, &header)) return result;
  enum Column {
    kRunId,
    kExperimentId,
    kSlurmJobId,
    kStartTime,
    kUpdateTime,
    kHostName,
    kSize,
    kDepth,
    kShape,
    kDataset,
    kLearningRate,
    kBatchSize,
    kOptimizer,
    kIsGpu,
  };
  const auto column =
      RequireColumns(header,
                     {"run_id", "experiment_id", "slurm_job_id", "start_time", "update_time", "host_name", "size",
                      "depth", "shape", "dataset", "learning_rate", "batch_size", "optimizer", "is_gpu"},
                     path);
  const TimestampPolicy utc;
  std::vector<std::string_view> fields;
  bool complete = false;
  while (reader.Next(&fields, &complete)) {
    ++result.rows;
    RunRecord run;
    run.line = reader.first_line();
    if (!complete || fields.size() != header.size()) {
      if (complete && column[kRunId] < fields.size()) run.run_id = Trim(fields[column[kRunId]]);
      run.bad_reason = "field_count";
      tally.Add(run.bad_reason);
      result.records.push_back(std::move(run));
      continue;
    }
    const auto field = [&](Column c) { return Trim(fields[column[c]]); };
    run.run_id = field(kRunId);
    run.experiment_id = field(kExperimentId);
    run.slurm_job_id = field(kSlurmJobId);
    run.host_name = field(kHostName);
    run.shape = field(kShape);
    run.dataset = field(kDataset);
    run.optimizer = field(kOptimizer);
    if (ParseInstant(field(kStartTime), utc, &run.start) != TimeParseStatus::kOk ||
        ParseInstant(field(kUpdateTime), utc, &run.update) != TimeParseStatus::kOk) {
      run.bad_reason = "bad_time";
    } else if (!ParseCount(field(kSize), &run.size) || !ParseCount(field(kDepth), &run.depth) ||
               !ParseCount(field(kBatchSize), &run.batch_size) ||
               !ParseDouble(field(kLearningRate), &run.learning_rate)) {
      run.bad_reason = "bad_number";
    } else if (!ParseBool(field(kIsGpu), &run.is_gpu)) {
      run.bad_reason = "bad_is_gpu";
    } else if (run.update < run.start) {
      run.bad_reason = "negative_window";
    }
    if (!run.bad_reason.empty()) tally.Add(run.bad_reason);
    result.records.push_back(std::move(run));
  }
  DropRepeatedRunIds(path, &result, &tally);
  result.bad_rows = tally.Finish();
  return result;
}

TableParseResult<NodeRecord> ParseNodesFile(const std::string& path, const NodeTypeMatcher& matcher) {
  std::unordered_map<std::string, std::size_t> seen;  // name -> index in records
  return ParseCountedTable<NodeRecord>(
      path, "nodes", {"HOSTNAMES", "CPUS", "MEMORY", "TMP_DISK", "GRES"},
      [&](const CsvRow& row, std::vector<NodeRecord>* records) -> std::string {
        std::vector<std::string> names;
        try {
          names = ExpandHostlist(row[0]);
        } catch (const Error&) {
          return "bad_hostlist";
        }
        if (names.empty()) return "bad_hostlist";
        NodeSignature signature;
        if (!ParseCount(row[1], &signature.cpus) || !ParseCount(row[2], &signature.memory_mb) ||
            !ParseCount(row[3], &signature.tmp_disk_mb)) {
          return "bad_number";
        }
        signature.gres = Trim(row[4]);
        const std::string type = matcher ? matcher(signature) : std::string();
        bool conflict = false;
        for (auto& name : names) {
          const auto it = seen.find(name);
          if (it != seen.end()) {
            const NodeRecord& first = (*records)[it->second];
            conflict = conflict || first.cpus != signature.cpus || first.memory_mb != signature.memory_mb ||
                       first.tmp_disk_mb != signature.tmp_disk_mb || first.gres != signature.gres;
            continue;
          }
          seen.emplace(name, records->size());
          NodeRecord node;
          node.name = std::move(name);
          node.cpus = signature.cpus;
          node.memory_mb = signature.memory_mb;
          node.tmp_disk_mb = signature.tmp_disk_mb;
          node.gres = signature.gres;
          node.node_type = type;
          records->push_back(std::move(node));
        }
        return conflict ? "conflicting_node" : "";
      });
}

TableParseResult<DatasetRecord> ParseDatasetsFile(const std::string& path) {
  std::unordered_map<std::string, std::size_t> seen;
  return ParseCountedTable<DatasetRecord>(
      path, "datasets", {"dataset", "n_observations", "n_features", "n_classes", "task"},
      [&](const CsvRow& row, std::vector<DatasetRecord>* records) -> std::string {
        DatasetRecord dataset;
        dataset.name = Trim(row[0]);
        dataset.task = Trim(row[4]);
        if (dataset.task != "classification" && dataset.task != "regression") return "bad_task";
        const std::string_view classes = Trim(row[3]);
        const bool no_classes =
            dataset.task == "regression" && (classes.empty() || classes == "nan" || classes == "NaN");
        if (dataset.name.empty() || !ParseCount(row[1], &dataset.n_observations) ||
            !ParseCount(row[2], &dataset.n_features) || (!no_classes && !ParseCount(classes, &dataset.n_classes))) {
          return "bad_number";
        }
        if (!seen.emplace(dataset.name, records->size()).second) return "duplicate_dataset";
        records->push_back(std::move(dataset));
        return "";
      });
}

TableParseResult<LossRecord> ParseLossesFile(const std::string& path) {
  return ParseCountedTable<LossRecord>(path, "losses", {"experiment_id", "epoch", "test_loss"},
                                       [](const CsvRow& row, std::vector<LossRecord>* records) -> std::string {
                                         LossRecord loss;
                                         loss.experiment_id = Trim(row[0]);
                                         if (loss.experiment_id.empty() || !ParseCount(row[1], &loss.epoch) ||
                                             !ParseDouble(Trim(row[2]), &loss.test_loss)) {
                                           return "bad_number";
                                         }
                                         records->push_back(std::move(loss));
                                         return "";
                                       });
}

TableParseResult<CarbonIntensityRecord> ParseCarbonIntensityFile(const std::string& path) {
  const TimestampPolicy utc;
  auto result = ParseCountedTable<CarbonIntensityRecord>(
      path, "carbon_intensity", {"timestamp", "g_per_kwh"},
      [&](const CsvRow& row, std::vector<CarbonIntensityRecord>* records) -> std::string {
        CarbonIntensityRecord value;
        if (ParseInstant(Trim(row[0]), utc, &value.time) != TimeParseStatus::kOk) return "bad_time";
        if (!ParseDouble(Trim(row[1]), &value.g_per_kwh) || !std::isfinite(value.g_per_kwh) || value.g_per_kwh < 0) {
          return "bad_number";
        }
        records->push_back(value);
        return "";
      });
  std::stable_sort(result.records.begin(), result.records.end(),
                   [](const CarbonIntensityRecord& a, const CarbonIntensityRecord& b) { return a.time < b.time; });
  return result;
}

}  // namespace wattrun
