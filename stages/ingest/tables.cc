#include "stages/ingest/tables.h"

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
  BadRowTally(std::string stage, std::string file)
      : stage_(std::move(stage)), file_(std::move(file)) {}
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

std::vector<std::size_t> RequireColumns(const CsvHeader& header,
                                        const std::vector<std::string_view>& names,
                                        const std::string& file) {
  std::vector<std::size_t> columns;
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
                                           const std::vector<std::string_view>& required,
                                           ParseRow&& parse_row) {
  TableParseResult<Record> result;
  BadRowTally tally(stage, path);
  CsvRecordReader reader(path);
  CsvHeader header;
  if (!ReadCsvHeader(&reader, &header)) return result;
  const auto column = RequireColumns(header, required, path);
  std::vector<std::string_view> fields;
  bool complete = false;
  while (reader.Next(&fields, &complete)) {
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
    const bool pending_array = allocation[mark] == '_' && rest.size() >= 2 &&
                               rest.front() == '[' && rest.back() == ']';
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
std::string ParseSacctTime(std::string_view text, const TimestampPolicy& policy, TimeMs* earlier,
                           TimeMs* later) {
  std::int64_t wall_ms = 0;
  switch (ParseInstant(text, policy, earlier, &wall_ms)) {
    case TimeParseStatus::kOk:
      *later = *earlier;
      return "";
    case TimeParseStatus::kAmbiguous:
      *later = policy.zone.FromLocal(wall_ms).later;
      return "";
    case TimeParseStatus::kNonexistent:
      return "nonexistent_time";
    case TimeParseStatus::kBadSyntax:
      break;
  }
  return "bad_time";
}

}  // namespace

TableParseResult<JobRecord> ParseSacctFile(const std::string& path,
                                           const TimestampPolicy& policy) {
  TableParseResult<JobRecord> result;
  BadRowTally tally("sacct", path);
  LineReader reader(path);
  std::string_view line;
  if (!reader.Next(&line)) return result;
  const std::string header_line(line);
  std::vector<std::string_view> fields;
  SplitPipes(header_line, &fields);
  const CsvHeader header(fields);
  const auto column = RequireColumns(header, {"JobID", "NodeList", "Start", "End", "State"}, path);
  const std::string_view header_text = Trim(header_line);
  while (reader.Next(&line)) {
    if (Trim(line).empty() || Trim(line) == header_text) continue;
    SplitPipes(line, &fields);
    if (fields.size() != header.size()) {
      tally.Add("field_count");
      continue;
    }
    const std::string_view job_id = Trim(fields[column[0]]);
    const JobIdKind kind = ClassifyJobId(job_id);
    if (kind == JobIdKind::kStep) continue;
    if (kind == JobIdKind::kInvalid) {
      tally.Add("bad_job_id");
      continue;
    }
    JobRecord job;
    job.job_id = job_id;
    job.node_list = Trim(fields[column[1]]);
    job.state = Trim(fields[column[4]]);
    if (!IsValidHostlist(job.node_list)) {
      tally.Add("bad_hostlist");
      continue;
    }
    const std::string_view start = Trim(fields[column[2]]);
    const std::string_view end = Trim(fields[column[3]]);
    std::string reason;
    if (start == "Unknown" || start == "None") {
      job.has_start = false;
    } else {
      TimeMs later = 0;
      reason = ParseSacctTime(start, policy, &job.start, &later);
    }
    if (reason.empty() && end != "Unknown" && end != "None") {
      TimeMs earlier = 0, later = 0;
      reason = ParseSacctTime(end, policy, &earlier, &later);
      if (reason.empty()) {
        job.end = (job.has_start && earlier < job.start) ? later : earlier;
        if (job.has_start && *job.end < job.start) reason = "negative_window";
      }
    }
    if (!reason.empty()) {
      tally.Add(reason);
      continue;
    }
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
    kRunId, kExperimentId, kSlurmJobId, kStartTime, kUpdateTime, kHostName, kSize,
    kDepth, kShape, kDataset, kLearningRate, kBatchSize, kOptimizer, kIsGpu,
  };
  const auto column = RequireColumns(
      header,
      {"run_id", "experiment_id", "slurm_job_id", "start_time", "update_time", "host_name",
       "size", "depth", "shape", "dataset", "learning_rate", "batch_size", "optimizer",
       "is_gpu"},
      path);
  const TimestampPolicy utc;
  std::vector<std::string_view> fields;
  bool complete = false;
  while (reader.Next(&fields, &complete)) {
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
  result.bad_rows = tally.Finish();
  return result;
}

TableParseResult<NodeRecord> ParseNodesFile(const std::string& path,
                                            const NodeTypeMatcher& matcher) {
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
            conflict = conflict || first.cpus != signature.cpus ||
                       first.memory_mb != signature.memory_mb ||
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
        const bool no_classes = dataset.task == "regression" &&
                                (classes.empty() || classes == "nan" || classes == "NaN");
        if (dataset.name.empty() || !ParseCount(row[1], &dataset.n_observations) ||
            !ParseCount(row[2], &dataset.n_features) ||
            (!no_classes && !ParseCount(classes, &dataset.n_classes))) {
          return "bad_number";
        }
        if (!seen.emplace(dataset.name, records->size()).second) return "duplicate_dataset";
        records->push_back(std::move(dataset));
        return "";
      });
}

TableParseResult<LossRecord> ParseLossesFile(const std::string& path) {
  return ParseCountedTable<LossRecord>(
      path, "losses", {"experiment_id", "epoch", "test_loss"},
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

}  // namespace wattrun
