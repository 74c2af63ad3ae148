#include "stages/ingest/prometheus.h"

#include <curl/curl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/error.h"
#include "stages/ingest/prometheus_json.h"

namespace wattrun::ingest {
namespace {

// RE2 metacharacters of a node name escaped, then the PromQL string's own
// escapes (backslash and quote).
std::string EscapeNodeName(std::string_view name) {
  std::string out;
  for (const char c : name) {
    if (std::string_view(R"(\.+*?()|[]{}^$)").find(c) != std::string_view::npos) out += "\\\\";
    if (c == '"') out += '\\';
    out += c;
  }
  return out;
}

// "1646748131.123": epoch seconds with milliseconds, as the API takes them.
std::string EpochSecondsText(TimeUs instant) {
  const std::int64_t ms = EpochMsFromInstant(instant);
  char text[40];
  std::snprintf(text, sizeof text, "%lld.%03lld", static_cast<long long>(FloorDiv(ms, 1000)),
                static_cast<long long>(ms - FloorDiv(ms, 1000) * 1000));
  return text;
}

std::size_t AppendBody(char* data, std::size_t size, std::size_t n, void* body) {
  static_cast<std::string*>(body)->append(data, size * n);
  return size * n;
}

}  // namespace

bool IsLoopback(std::string_view url) {
  const std::size_t scheme = url.find("://");
  std::string_view host = url.substr(scheme == std::string_view::npos ? 0 : scheme + 3);
  if (host.rfind("[::1]", 0) == 0) return true;
  host = host.substr(0, host.find_first_of(":/"));
  return host == "localhost" || host.rfind("127.", 0) == 0;
}

namespace {

// CURLOPT_XFERINFOFUNCTION: non-zero aborts the transfer.
int AbortIfAsked(void* abort, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return abort != nullptr && static_cast<const std::atomic<bool>*>(abort)->load() ? 1 : 0;
}

// The server's own words about a failed query, if the body is its JSON error.
std::string ServerError(const std::string& body) {
  const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_object() && json.contains("error") && json["error"].is_string()) {
    return json.value("errorType", std::string("error")) + ": " + json["error"].get<std::string>();
  }
  return body.substr(0, 200);
}

}  // namespace

std::string_view NodeFromLabel(std::string_view label_value) {
  return label_value.substr(0, label_value.find_first_of(":."));
}

std::string RangeSelector(const PrometheusConfig& config, const std::vector<std::string_view>& nodes,
                          std::int64_t range_ms) {
  std::string names;
  for (const std::string_view node : nodes) names += (names.empty() ? "" : "|") + EscapeNodeName(node);
  return config.metric + "{" + config.node_label + "=~\"(?:" + names + ")(?:[:.].*)?\"}[" + std::to_string(range_ms) +
         "ms]";
}

std::vector<std::string_view> UnitNodes(const PrometheusUnit& unit, const std::vector<std::string>& node_names,
                                        const std::vector<TimeUs>& first_wanted) {
  std::vector<std::string_view> nodes;
  for (std::uint32_t n = unit.first_node; n < unit.last_node; ++n) {
    if (first_wanted[n] <= unit.until) nodes.push_back(node_names[n]);
  }
  return nodes;
}

std::vector<PrometheusUnit> PlanPrometheusUnits(const std::vector<TimeUs>& first_wanted, TimeUs end,
                                                double sampling_interval_s, std::size_t nodes_per_set,
                                                std::int64_t samples_per_unit) {
  std::vector<PrometheusUnit> units;
  const auto n_nodes = static_cast<std::uint32_t>(first_wanted.size());
  for (std::uint32_t first = 0; first < n_nodes; first += static_cast<std::uint32_t>(nodes_per_set)) {
    const std::uint32_t last = std::min<std::uint32_t>(n_nodes, first + static_cast<std::uint32_t>(nodes_per_set));
    const TimeUs from = *std::min_element(first_wanted.begin() + first, first_wanted.begin() + last);
    if (from > end) continue;  // every node of the set is up to date
    const double slice_s = sampling_interval_s * static_cast<double>(samples_per_unit) / (last - first);
    // At least a second; in instants via epoch ms, whatever the instants' unit.
    const TimeUs slice = InstantFromEpochMs(std::max<std::int64_t>(1000, static_cast<std::int64_t>(slice_s * 1000))) -
                         InstantFromEpochMs(0);
    for (TimeUs after = from - 1; after < end; after += slice) {
      units.push_back(PrometheusUnit{first, last, after, std::min(end, after + slice)});
    }
  }
  return units;
}

void ForEachSample(std::string_view body, const std::string& node_label, const SampleVisitor& visit) {
  // The server's own compact form in one pass; anything else (or an error)
  // through the general parser below, for the same samples or a clear error.
  std::vector<std::string_view> label_values;
  std::vector<MatrixSample> samples;
  samples.reserve(body.size() / 24);
  if (ScanCompactMatrix(body, node_label, &label_values, &samples)) {
    for (const MatrixSample& sample : samples) {
      visit(label_values[sample.series], InstantFromEpochMs(sample.epoch_ms), sample.value);
    }
    return;
  }
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("malformed JSON response: ") + e.what());
  }
  try {
    if (json.at("status") != "success") throw Error("response status is not success: " + ServerError(json.dump()));
    const auto& data = json.at("data");
    if (data.at("resultType") != "matrix") {
      throw Error("result type is '" + data.at("resultType").get<std::string>() + "', not matrix");
    }
    for (const auto& series : data.at("result")) {
      const auto& labels = series.at("metric");
      const auto label = labels.find(node_label);
      if (label == labels.end()) throw Error("a series without the label '" + node_label + "': " + labels.dump());
      const std::string& label_value = label->get_ref<const std::string&>();
      for (const auto& sample : series.at("values")) {
        const auto ms = static_cast<std::int64_t>(std::llround(sample.at(0).get<double>() * 1000));
        visit(label_value, InstantFromEpochMs(ms), sample.at(1).get_ref<const std::string&>());
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("unexpected JSON response: ") + e.what());
  }
}

// [start, end] of facility.telemetry.prometheus, by default from the
// earliest sacct Start to the latest End (now while a job runs or none has
// ended).
std::pair<TimeUs, TimeUs> PrometheusWindow(const PrometheusConfig& p, const std::vector<JobRecord>& jobs, TimeUs now) {
  std::optional<TimeUs> first_start, last_end;
  bool running = false;
  for (const JobRecord& j : jobs) {
    if (!j.has_start) continue;
    first_start = std::min(first_start.value_or(j.start), j.start);
    if (j.end) last_end = std::max(last_end.value_or(*j.end), *j.end);
    running = running || !j.end;
  }
  if (!p.start && !first_start) {
    throw Error("facility.telemetry.prometheus.start is not set and sacct has no job with a Start to take it from");
  }
  const TimeUs end = p.end ? *p.end : running || !last_end ? now : *last_end;
  return {p.start ? *p.start : *first_start, end};
}

PrometheusClient::PrometheusClient(std::string base_url, double timeout_s) : timeout_s_(timeout_s) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  endpoint_ = base_url + "/api/v1/query";
  loopback_ = IsLoopback(base_url);
  curl_ = curl_easy_init();
  if (!curl_) throw Error(endpoint_ + ": cannot start an HTTP client (curl_easy_init failed)");
}

PrometheusClient::~PrometheusClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

std::string DescribeQuery(const std::string& query, TimeUs at) {
  return "query '" + query + "' at " + FormatUtcIso(at) + " (time=" + EpochSecondsText(at) + ")";
}

std::string PrometheusClient::Query(const std::string& query, TimeUs at) {
  CURL* curl = static_cast<CURL*>(curl_);
  char* escaped = curl_easy_escape(curl, query.c_str(), static_cast<int>(query.size()));
  const std::string form = std::string("query=") + escaped + "&time=" + EpochSecondsText(at);
  curl_free(escaped);
  std::string body;
  char transport_error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, endpoint_.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(form.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, transport_error);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_s_ * 1000));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM (ranks have threads)
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, AbortIfAsked);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(abort_));
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, abort_ == nullptr ? 1L : 0L);
  // gzip only over a network: on the loopback it costs the server (and this
  // rank) CPU for no transfer saved (measured on 2 cores: the route 2.6x slower with it, bench/RESULTS.md).
  if (!loopback_) curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
  const CURLcode code = curl_easy_perform(curl);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  if (code != CURLE_OK) {
    throw Error(endpoint_ + ": " + DescribeQuery(query, at) + ": " +
                (transport_error[0] ? transport_error : curl_easy_strerror(code)) +
                " (the server is down or unreachable?)");
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    throw Error(endpoint_ + ": " + DescribeQuery(query, at) + ": HTTP " + std::to_string(status) + ": " +
                ServerError(body));
  }
  return body;
}

PrometheusPrefetcher::PrometheusPrefetcher(const PrometheusConfig& config, const std::vector<std::string>& node_names,
                                           const std::vector<PrometheusUnit>& units,
                                           const std::vector<TimeUs>& first_wanted, std::vector<std::uint32_t> order)
    : config_(config),
      node_names_(node_names),
      units_(units),
      first_wanted_(first_wanted),
      order_(std::move(order)),
      client_(config.url) {
  client_.set_abort_flag(&stop_);
  thread_ = std::thread([this] { Run(); });
}

PrometheusPrefetcher::~PrometheusPrefetcher() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void PrometheusPrefetcher::Run() {
  for (const std::uint32_t index : order_) {
    const PrometheusUnit& unit = units_[index];
    const std::vector<std::string_view> nodes = UnitNodes(unit, node_names_, first_wanted_);
    if (nodes.empty()) continue;  // its nodes are stored up to a later instant
    PrometheusResponse response;
    response.unit = index;
    try {
      response.query = RangeSelector(config_, nodes, EpochMsFromInstant(unit.until) - EpochMsFromInstant(unit.after));
      response.body = client_.Query(response.query, unit.until);
    } catch (...) {
      response.error = std::current_exception();
    }
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return stop_ || ready_.empty(); });
    if (stop_) return;
    const bool failed = response.error != nullptr;
    ready_.push_back(std::move(response));
    lock.unlock();
    changed_.notify_all();
    if (failed) break;  // the caller stops at the error
  }
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
  }
  changed_.notify_all();
}

bool PrometheusPrefetcher::Next(PrometheusResponse* response) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return done_ || !ready_.empty(); });
  if (ready_.empty()) return false;
  *response = std::move(ready_.front());
  ready_.pop_front();
  lock.unlock();
  changed_.notify_all();
  if (response->error) std::rethrow_exception(response->error);
  return true;
}

}  // namespace wattrun::ingest
