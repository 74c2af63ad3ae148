// Telemetry from a Prometheus server (facility.telemetry.source: prometheus),
// read over its HTTP API as raw samples: instant queries of range-vector
// selectors, `metric{node=~"a|b"}[Δ]` at time t, give every stored sample
// of (t-Δ, t] unresampled (query_range would resample onto a step). The
// wanted time span and nodes are cut into units (a node set × a time slice)
// small enough for one response of a few MB; each unit is one "file" of the
// ingest, fetched by one rank.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/records.h"
#include "core/time.h"

namespace wattrun::ingest {

// Prometheus timestamps are UTC epoch milliseconds; the store's instants
// are TimeUs (µs). The one place where the two meet: an instant between
// two milliseconds goes to the earlier one, so a sample at a whole
// millisecond is at or before an instant exactly when its ms is.
inline TimeUs InstantFromEpochMs(std::int64_t epoch_ms) { return epoch_ms * kMicrosPerMilli; }
inline std::int64_t EpochMsFromInstant(TimeUs instant) { return FloorDiv(instant, kMicrosPerMilli); }

// A node label's value as a node name: cut at the first ':' or '.'
// ("r1i0n3:9290" and "r1i0n3.eagle.nrel.gov" are r1i0n3).
std::string_view NodeFromLabel(std::string_view label_value);

// `metric{label=~"(?:a|b)(?:[:.].*)?"}[Δms]`: the series of the named
// nodes (regex-escaped), with any ":port" or ".domain" after the name.
std::string RangeSelector(const PrometheusConfig& config, const std::vector<std::string_view>& nodes,
                          std::int64_t range_ms);

// A unit of fetching: the nodes [first_node, last_node) of the sorted node
// names, their samples with time in (after, until]. Each node's own lower
// bound (re-ingestion: after its last stored reading) is applied on top:
// a node is asked for only by the units that reach it (UnitNodes).
struct PrometheusUnit {
  std::uint32_t first_node = 0;
  std::uint32_t last_node = 0;
  TimeUs after = 0;
  TimeUs until = 0;
};

// Units covering, for every node n, the instants [first_wanted[n], end]
// (none for a node whose first_wanted is after end), node sets of at most
// `nodes_per_set` consecutive nodes, time slices long enough for about
// `samples_per_unit` samples at one sample per `sampling_interval_s` and
// node. In node-set order, then time order.
std::vector<PrometheusUnit> PlanPrometheusUnits(const std::vector<TimeUs>& first_wanted, TimeUs end,
                                                double sampling_interval_s, std::size_t nodes_per_set,
                                                std::int64_t samples_per_unit);

// [start, end] of facility.telemetry.prometheus: each unset bound from the
// earliest sacct Start and the latest End (`now` while a job runs or none
// has ended). Throws wattrun::Error without a start to be had.
std::pair<TimeUs, TimeUs> PrometheusWindow(const PrometheusConfig& config, const std::vector<JobRecord>& jobs,
                                           TimeUs now);

// The nodes of a unit that want any of its instants (first_wanted <= until).
std::vector<std::string_view> UnitNodes(const PrometheusUnit& unit, const std::vector<std::string>& node_names,
                                        const std::vector<TimeUs>& first_wanted);

// One sample of a response: the series' node label value, its time and
// its value as the server wrote it ("231", "NaN", "+Inf").
using SampleVisitor = std::function<void(std::string_view label_value, TimeUs time, std::string_view value)>;

// Calls visit for every sample of a successful instant-query response of
// result type matrix. Throws wattrun::Error (what went wrong, the caller
// adds where) on malformed JSON, a response that is not a matrix or an
// error status.
void ForEachSample(std::string_view body, const std::string& node_label, const SampleVisitor& visit);

// An HTTP client of one server's query API (libcurl, one connection kept
// alive between queries). Not thread-safe: one per thread.
class PrometheusClient {
 public:
  explicit PrometheusClient(std::string base_url, double timeout_s = 300);
  ~PrometheusClient();
  PrometheusClient(const PrometheusClient&) = delete;
  PrometheusClient& operator=(const PrometheusClient&) = delete;

  // POST /api/v1/query with query and time; the response body of a 200.
  // Throws wattrun::Error naming the URL, the query and the time, with the
  // transport error, or the HTTP status and the server's error text.
  std::string Query(const std::string& query, TimeUs at);
  const std::string& endpoint() const { return endpoint_; }
  // While *abort is true, a query under way fails at once (a client on a
  // thread that is being stopped). Null: never.
  void set_abort_flag(const std::atomic<bool>* abort) { abort_ = abort; }

 private:
  std::string endpoint_;  // .../api/v1/query
  double timeout_s_;
  void* curl_;  // CURL*
  const std::atomic<bool>* abort_ = nullptr;
  bool loopback_ = false;  // no gzip asked for
};

// Whether an http(s) URL's host is this machine's loopback (localhost,
// 127.x.y.z, [::1]).
bool IsLoopback(std::string_view url);

// One fetched unit: its query and the response body, or the fetch's error.
struct PrometheusResponse {
  std::uint32_t unit = 0;
  std::string query;
  std::string body;
  std::exception_ptr error;
};

// Fetches a rank's units, in the order given, on a thread of its own and
// one response ahead of the caller, so that the server prepares the next
// response while the caller parses this one (one connection, kept alive).
// Units whose nodes are all stored up to a later instant are not asked for.
class PrometheusPrefetcher {
 public:
  PrometheusPrefetcher(const PrometheusConfig& config, const std::vector<std::string>& node_names,
                       const std::vector<PrometheusUnit>& units, const std::vector<TimeUs>& first_wanted,
                       std::vector<std::uint32_t> order);
  ~PrometheusPrefetcher();  // stops the thread (a query under way is aborted)
  PrometheusPrefetcher(const PrometheusPrefetcher&) = delete;
  PrometheusPrefetcher& operator=(const PrometheusPrefetcher&) = delete;

  // The next unit's response (the units come in the order given, those
  // with nodes to ask for); false after the last.
  bool Next(PrometheusResponse* response);
  const std::string& endpoint() const { return client_.endpoint(); }

 private:
  void Run();

  const PrometheusConfig& config_;
  const std::vector<std::string>& node_names_;
  const std::vector<PrometheusUnit>& units_;
  const std::vector<TimeUs>& first_wanted_;
  const std::vector<std::uint32_t> order_;
  PrometheusClient client_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<PrometheusResponse> ready_;  // at most one waiting
  bool done_ = false;                     // the thread has queued its last
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// "query 'Q' at T (epoch seconds S)": the words every fetch error ends with.
std::string DescribeQuery(const std::string& query, TimeUs at);

}  // namespace wattrun::ingest
