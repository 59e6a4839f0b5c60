#pragma once

#include <boost/json/value.hpp>
#include <boost/regex.hpp>
#include <boost/url/url.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/duration.hpp"
#include "config/secrets.hpp"

// The validated, fully resolved configuration. Everything here has been
// checked by the loader: a Config value is always safe to run.
namespace sloprobe::config {

// Where a value came from, for messages about it after loading.
struct Location {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
};

struct TlsConfig {
  std::string ca_file;      // empty: the system's trust store
  std::string server_name;  // SNI and certificate name; empty: the URL host
  bool insecure_skip_verify = false;
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
  std::optional<LatencyObjective> latency;
  std::optional<double> error_ratio;
};

// Histogram bucket upper bounds in seconds; empty means the default set.
struct Buckets {
  std::vector<double> duration;
  std::vector<double> phase;
};

enum class ProbeType { kHttp };

struct ProbeConfig {
  std::string name;
  ProbeType type = ProbeType::kHttp;
  Duration interval{};
  Duration timeout{};
  Duration jitter{};
  int max_in_flight = 1;
  HttpRequest request;
  Expectations expect;
  Objectives objectives;
  Buckets buckets;
  Location location;
};

struct GlobalConfig {
  Duration interval = std::chrono::seconds(30);
  Duration timeout = std::chrono::seconds(10);
  Duration jitter{};
  int max_in_flight = 1;
};

struct Config {
  std::string file;
  GlobalConfig global;
  std::vector<ProbeConfig> probes;
  // Every resolved secret value, so that anything printed can be scrubbed.
  Redactor redactor;
};

}  // namespace sloprobe::config
