#pragma once

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/regex.hpp>
#include <boost/url/url.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/duration.hpp"
#include "config/error.hpp"
#include "config/secrets.hpp"
#include "config/sharding.hpp"
#include "config/template.hpp"

// The validated, fully resolved configuration. Everything here has been
// checked by the loader: a Config value is always safe to run.
namespace sloprobe::config {

struct TlsConfig {
  std::string ca_file;      // empty: the system's trust store
  std::string server_name;  // SNI and certificate name; empty: the URL host
  bool insecure_skip_verify = false;
  bool operator==(const TlsConfig&) const = default;
};

struct Header {
  std::string name;
  std::string value;  // may hold a secret: never log
};

struct HttpRequest {
  std::string method = "GET";
  boost::urls::url url;  // http or https; may hold a secret in its query: never log
  std::vector<Header> headers;
  std::string body;  // may hold a secret: never log
  bool keep_alive = false;
  int follow_redirects = 0;
  std::uint64_t body_limit = 1 << 20;
  std::uint64_t header_limit = 64 << 10;
  TlsConfig tls;
};

// An accepted status range, inclusive: 200 is [200, 200], "2xx" is [200, 299].
struct StatusRange {
  int low = 200;
  int high = 299;
  bool operator==(const StatusRange&) const = default;
};

struct JsonExpectation {
  std::string pointer;                       // RFC 6901
  std::optional<boost::json::value> equals;  // absent: only existence is checked
};

struct HeaderExpectation {
  enum class Op { kExists, kEquals, kContains, kRegex };
  std::string name;
  Op op = Op::kExists;
  std::string value;
  std::shared_ptr<const boost::regex> regex;  // set when op == kRegex
};

struct Expectations {
  std::vector<StatusRange> status;  // empty means 2xx
  std::optional<std::string> body_contains;
  std::shared_ptr<const boost::regex> body_regex;
  std::string body_regex_source;
  std::vector<JsonExpectation> json;
  std::vector<HeaderExpectation> headers;
};

struct LatencyObjective {
  double quantile = 0.95;
  Duration threshold{};
};

struct Objectives {
  std::optional<LatencyObjective> latency;  // of whole runs
  std::optional<double> error_ratio;
  // type: llm_stream, or a scenario with llm_stream steps (each step judged).
  std::optional<LatencyObjective> ttft;         // time to first token
  std::optional<LatencyObjective> inter_chunk;  // each gap between token chunks
  std::optional<LatencyObjective> e2e;          // time to the last token
  // type: websocket, or a scenario with websocket steps.
  std::optional<LatencyObjective> round_trip;  // each message to its reply
};

// Histogram bucket upper bounds in seconds; empty means the default set.
struct Buckets {
  std::vector<double> duration;
  std::vector<double> phase;
  // type: llm_stream, or a scenario with llm_stream steps.
  std::vector<double> ttft;         // time to first byte and to first token
  std::vector<double> inter_chunk;  // gaps between token chunks, time per output token
  std::vector<double> e2e;          // time to last token, stream duration
  // type: websocket, or a scenario with websocket steps.
  std::vector<double> round_trip;
};

enum class LlmApi { kOpenAi, kAnthropic, kOllama };

// "openai", "anthropic", "ollama": the config's spelling and the `api` label.
constexpr std::string_view LlmApiName(LlmApi api) {
  switch (api) {
    case LlmApi::kOpenAi:
      return "openai";
    case LlmApi::kAnthropic:
      return "anthropic";
    case LlmApi::kOllama:
      return "ollama";
  }
  return "";
}

struct LlmMessage {
  std::string role;  // system, user or assistant
  std::string content;
};

// What an llm_stream probe asks for. The request body is built from this in
// the API's own shape, with `"stream": true`.
struct LlmStream {
  LlmApi api = LlmApi::kOpenAi;
  std::string model;
  std::vector<LlmMessage> messages;  // `prompt` is one user message
  std::int64_t max_tokens = 64;
  std::optional<double> temperature;
  bool include_usage = true;  // OpenAI: stream_options.include_usage
  // A fresh random marker at the start of the first message on every run,
  // so that prompt (prefix) caches cannot answer from an earlier run.
  bool nonce = false;
  boost::json::object extra_body;  // merged over the generated fields
};

// What a websocket probe does once connected: sends `send` as a text
// message `messages` times, one after the other, each time waiting for the
// first message back that matches `reply` (any message when it is empty:
// no body_contains, body_regex or json).
struct WebSocketExchange {
  std::string send;  // may hold a secret: never log
  int messages = 1;
  Expectations reply;
};

enum class ProbeType { kHttp, kScenario, kLlmStream, kWebSocket };

// "http", "scenario", "llm_stream", "websocket": the config's spelling.
constexpr std::string_view ProbeTypeName(ProbeType type) {
  switch (type) {
    case ProbeType::kHttp:
      return "http";
    case ProbeType::kScenario:
      return "scenario";
    case ProbeType::kLlmStream:
      return "llm_stream";
    case ProbeType::kWebSocket:
      return "websocket";
  }
  return "";
}

// A value a scenario step takes from its response into a variable.
struct Extraction {
  enum class Source {
    kJson,    // the value at a JSON Pointer (strings as they are, others as JSON)
    kHeader,  // a response header's value (optionally through `regex`)
    kBody,    // a regex capture group over the body
    kStatus,  // the status code
  };
  std::string variable;
  Source source = Source::kJson;
  std::string key;  // JSON Pointer or header name
  std::shared_ptr<const boost::regex> regex;
  std::string regex_source;
  int group = 1;
};

// A step whose extracted variables (and cookies) later runs reuse while they
// are fresh: a login. Lifetime: `ttl`, or the number of seconds at the
// JSON Pointer `expires_in` of the response when that is shorter.
struct StepCache {
  Duration ttl{};
  std::string expires_in = "/expires_in";
};

struct HeaderTemplate {
  std::string name;
  Template value;  // may hold a secret: never log
};

// One step of a scenario: an HTTP request (`type: http`, the default), a
// streamed LLM call (`llm_stream`) or a WebSocket exchange (`websocket`),
// with the same keys as a probe of that type.
struct ScenarioStep {
  std::string name;
  ProbeType type = ProbeType::kHttp;  // never kScenario
  // Method and options (limits, TLS, redirects, keep-alive). The URL,
  // headers and body are rendered from the templates below on every run;
  // an llm_stream step's body is built from `llm` instead.
  HttpRequest request;
  Template url;
  std::vector<HeaderTemplate> headers;
  Template body;
  Expectations expect;          // type: http
  LlmStream llm;                // type: llm_stream
  WebSocketExchange websocket;  // type: websocket
  std::vector<Extraction> extract;
  std::optional<StepCache> cache;
  bool always = false;  // runs even after an earlier step failed (cleanup)
  Location location;
};

struct ProbeConfig {
  std::string name;
  ProbeType type = ProbeType::kHttp;
  Duration interval{};
  Duration timeout{};
  Duration jitter{};
  int max_in_flight = 1;
  // Longest postponement a 429's Retry-After may ask for; zero: ignore it.
  Duration max_retry_after = std::chrono::minutes(5);
  // type: http; llm_stream and websocket: URL, headers, options.
  HttpRequest request;
  Expectations expect;              // type: http
  std::vector<ScenarioStep> steps;  // type: scenario
  LlmStream llm;                    // type: llm_stream
  WebSocketExchange websocket;      // type: websocket
  Objectives objectives;
  Buckets buckets;
  Location location;
  // Equal for two loads exactly when the probe would behave the same: its
  // YAML as parsed (formatting and comments do not count), the global
  // defaults, and a hash of each secret it names. A reload keeps a probe
  // whose fingerprint did not change.
  std::string fingerprint;

  // Whether a run does what a probe of `kind` does: it is one, or a
  // scenario with a step of that type.
  bool Runs(ProbeType kind) const {
    return type == kind || std::any_of(steps.begin(), steps.end(),
                                       [kind](const ScenarioStep& s) { return s.type == kind; });
  }
};

struct GlobalConfig {
  Duration interval = std::chrono::seconds(30);
  Duration timeout = std::chrono::seconds(10);
  Duration jitter{};
  int max_in_flight = 1;
  Duration max_retry_after = std::chrono::minutes(5);
};

// `otlp:`: push the metrics to an OpenTelemetry endpoint as well.
struct OtlpConfig {
  enum class Encoding { kProtobuf, kJson };
  boost::urls::url endpoint;    // http or https, path defaults to /v1/metrics
  std::vector<Header> headers;  // secrets filled in: never log
  Duration interval = std::chrono::seconds(15);
  Duration timeout = std::chrono::seconds(10);
  Encoding encoding = Encoding::kProtobuf;
  bool gzip = false;
  std::vector<std::pair<std::string, std::string>> resource;  // as written, in order
  TlsConfig tls;
  // Canonical text of the block and the secrets it names (see
  // ProbeConfig::fingerprint): a reload restarts the exporter only if it changed.
  std::string fingerprint;
};

struct Config {
  std::string file;
  GlobalConfig global;
  std::optional<OtlpConfig> otlp;
  // This instance's probes: all of them, or those of its shard.
  std::vector<ProbeConfig> probes;
  ShardingConfig sharding;
  std::size_t probes_in_file = 0;  // before sharding
  // `external_labels:` added to every series on /metrics and every OTLP data
  // point, in the order written.
  std::vector<std::pair<std::string, std::string>> external_labels;
  // Every resolved secret value, so that anything printed can be scrubbed.
  Redactor redactor;
  // Credentials written into the file itself instead of taken from
  // `secrets` ("file:line:column: basic_auth password"; never the value):
  // for the warning about a file that every user can read.
  std::vector<std::string> inline_secrets;
  // Whether a secret comes from a systemd credential: those are copied when
  // the service starts, so a reload cannot see new or changed files.
  bool uses_credentials = false;
};

}  // namespace sloprobe::config
