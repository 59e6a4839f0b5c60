#include "config/loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "config/sharding.hpp"
#include "config/template.hpp"
#include "config/text.hpp"
#include "config/yaml_reader.hpp"

namespace sloprobe::config {

namespace {

using Keys = YamlReader::Keys;

constexpr std::array<std::string_view, 6> kTopKeys{"global", "secrets",         "otlp",
                                                   "probes", "external_labels", "sharding"};
constexpr std::array<std::string_view, 2> kShardingKeys{"shards", "shard"};
// Labels sloprobe's own series carry, and those Prometheus sets on a scrape.
constexpr std::array<std::string_view, 12> kReservedLabels{
    "probe",  "step",    "phase", "reason",   "api", "model",
    "result", "version", "le",    "quantile", "job", "instance"};
constexpr std::array<std::string_view, 8> kOtlpKeys{
    "endpoint", "headers", "interval", "timeout", "encoding", "compression", "resource", "tls"};
constexpr std::array<std::string_view, 5> kGlobalKeys{"interval", "timeout", "jitter",
                                                      "max_in_flight", "max_retry_after"};
constexpr std::array<std::string_view, 3> kSecretKeys{"env", "file", "credential"};
constexpr std::array<std::string_view, 28> kProbeKeys{
    "name",          "type",          "interval",        "timeout",
    "jitter",        "max_in_flight", "max_retry_after", "request",
    "expect",        "steps",         "objectives",      "buckets",
    "api",           "url",           "api_key",         "model",
    "prompt",        "messages",      "max_tokens",      "temperature",
    "include_usage", "nonce",         "extra_body",      "headers",
    "tls",           "keep_alive",    "body_limit",      "websocket"};
constexpr std::array<std::string_view, 12> kRequestKeys{
    "method",     "url",        "headers",          "body",       "json",         "form",
    "basic_auth", "keep_alive", "follow_redirects", "body_limit", "header_limit", "tls"};
// The keys of a scenario step, by its type.
constexpr std::array<std::string_view, 7> kStepKeys{"name",    "type",  "request", "expect",
                                                    "extract", "cache", "always"};
constexpr std::array<std::string_view, 18> kLlmStepKeys{
    "name",  "type",       "always",   "api",        "url",         "api_key",
    "model", "prompt",     "messages", "max_tokens", "temperature", "include_usage",
    "nonce", "extra_body", "headers",  "tls",        "keep_alive",  "body_limit"};
constexpr std::array<std::string_view, 5> kWebSocketStepKeys{"name", "type", "always", "request",
                                                             "websocket"};
constexpr std::array<std::string_view, 3> kStepTypes{"http", "llm_stream", "websocket"};
constexpr std::array<std::string_view, 5> kExtractKeys{"json", "header", "regex", "group",
                                                       "status"};
constexpr std::array<std::string_view, 2> kCacheKeys{"ttl", "expires_in"};
constexpr std::size_t kMaxSteps = 32;
constexpr std::array<std::string_view, 3> kTlsKeys{"ca_file", "server_name",
                                                   "insecure_skip_verify"};
constexpr std::array<std::string_view, 2> kBasicAuthKeys{"username", "password"};
constexpr std::array<std::string_view, 5> kExpectKeys{"status", "body_contains", "body_regex",
                                                      "json", "headers"};
constexpr std::array<std::string_view, 2> kJsonExpectKeys{"pointer", "equals"};
constexpr std::array<std::string_view, 4> kHeaderExpectKeys{"exists", "equals", "contains",
                                                            "regex"};
constexpr std::array<std::string_view, 6> kObjectiveKeys{
    "latency", "error_ratio", "ttft", "inter_chunk", "e2e", "round_trip"};
constexpr std::array<std::string_view, 2> kLatencyKeys{"quantile", "threshold"};
constexpr std::array<std::string_view, 6> kBucketKeys{"duration",    "phase", "ttft",
                                                      "inter_chunk", "e2e",   "round_trip"};
constexpr std::array<std::string_view, 4> kProbeTypes{"http", "scenario", "llm_stream",
                                                      "websocket"};
// `websocket:` of a websocket probe, and its `reply:`.
constexpr std::array<std::string_view, 3> kWebSocketKeys{"send", "messages", "reply"};
constexpr std::array<std::string_view, 3> kReplyKeys{"contains", "regex", "json"};
// `request:` keys a WebSocket upgrade has no use for.
constexpr std::array<std::string_view, 6> kNotForWebSocket{
    "method", "body", "json", "form", "keep_alive", "follow_redirects"};
// The keys of an llm_stream probe besides the common ones.
constexpr std::array<std::string_view, 15> kLlmKeys{
    "api",        "url",        "api_key",     "model",         "prompt",
    "messages",   "max_tokens", "temperature", "include_usage", "nonce",
    "extra_body", "headers",    "tls",         "keep_alive",    "body_limit"};
constexpr std::array<std::string_view, 2> kMessageKeys{"role", "content"};
// A stream is many small events; its body limit defaults higher than a
// plain response's.
constexpr std::uint64_t kLlmBodyLimit = 16 << 20;

// The variables a scenario step may use: set by earlier steps (name -> the
// step that sets it), and those set by this or later steps, for messages.
struct Scope {
  std::map<std::string, std::string, std::less<>> defined;
  std::map<std::string, std::string, std::less<>> later;
};

// A request's URL, headers and body as templates; for http probes (no
// variables) they are static and become the HttpRequest's fields.
struct RequestTemplates {
  Template url;
  std::vector<HeaderTemplate> headers;
  Template body;
};

// A probe's request, which takes no variables: its templates are text.
void Flatten(const RequestTemplates& t, HttpRequest& req) {
  for (const auto& h : t.headers) req.headers.push_back({h.name, h.value.Text()});
  req.body = t.body.Text();
}

// The JSON text of a string, without the quotes.
std::string JsonEscaped(std::string_view s) { return Escaped(s, Template::Escape::kJson); }

// Characters allowed in a probe name: it becomes a label value and a log field.
bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

bool ValidToken(std::string_view s) {  // RFC 9110 token, for methods and header names
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

class Loader : YamlReader {
 public:
  Loader(const std::string& file, const LoadOptions& options)
      : YamlReader(file), options_(options) {}

 private:
  const LoadOptions& options_;
  std::vector<ConfigError> unchecked_;
  bool* uses_credentials_ = nullptr;
  // Set while a websocket probe's `request` is read: its URL is ws or wss.
  bool websocket_urls_ = false;

 public:
  LoadResult Load(std::string_view text) {
    LoadResult result;
    const auto parsed = Parse(text);
    if (!parsed) {
      result.errors = TakeErrors();
      return result;
    }
    // Read through a const reference: yaml-cpp's non-const operator[] inserts.
    const YAML::Node& root = *parsed;
    Config config;
    config.file = File();
    redactor_ = &config.redactor;
    inline_ = &config.inline_secrets;
    uses_credentials_ = &config.uses_credentials;
    if (!root || root.IsNull()) {
      ErrorAtFile("the file is empty; it needs a 'probes' list");
    } else if (CheckMap(root, "the configuration", kTopKeys, "at the top level")) {
      if (Get(root, "global")) {
        ParseGlobal(Get(root, "global"), config.global);
        Canonical(Get(root, "global"), global_text_);
      }
      if (Get(root, "secrets")) ParseSecrets(Get(root, "secrets"), config.redactor);
      if (Get(root, "otlp")) ParseOtlp(Get(root, "otlp"), config);
      if (Get(root, "external_labels")) ParseExternalLabels(Get(root, "external_labels"), config);
      if (Get(root, "sharding")) ParseSharding(Get(root, "sharding"), config.sharding);
      if (!Get(root, "probes")) {
        Error(root, "missing 'probes': there is nothing to run");
      } else {
        ParseProbes(Get(root, "probes"), config);
      }
      // Every probe is checked, whichever shard runs it: one file serves all.
      config.probes_in_file = config.probes.size();
      if (config.sharding.shards > 1) {
        std::erase_if(config.probes, [&](const ProbeConfig& p) {
          return ShardOf(p.name, config.sharding.shards) != config.sharding.shard;
        });
      }
    }
    result.errors = TakeErrors();
    if (result.errors.empty()) {
      result.config = std::move(config);
      result.unchecked = std::move(unchecked_);
    }
    return result;
  }

 private:
  // Whether a header or field of this name carries a credential.
  static bool SensitiveName(std::string_view name) {
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (std::string_view word : {"authorization", "password", "passwd", "secret", "token",
                                  "api-key", "api_key", "apikey", "cookie"}) {
      if (lower.find(word) != std::string::npos) return true;
    }
    return false;
  }

  // Notes a credential written out in the file: a sensitive value that
  // takes nothing from ${...}.
  void NoteInline(const YAML::Node& n, std::string_view raw, std::string_view what) {
    if (raw.empty() || raw.find("${") != std::string_view::npos) return;
    const auto w = Where(n);
    inline_->push_back(w.file + ":" + std::to_string(w.line) + ":" + std::to_string(w.column) +
                       ": " + std::string(what));
  }

  // An RFC 6901 JSON Pointer: empty (the whole document) or starting with '/'.
  std::optional<std::string> Pointer(const YAML::Node& n, std::string_view what) {
    auto p = String(n, what);
    if (p && !p->empty() && (*p)[0] != '/') {
      Error(n, "JSON Pointer " + Quote(*p) + " must be empty or start with '/'");
      return std::nullopt;
    }
    return p;
  }

  void ParseGlobal(const YAML::Node& n, GlobalConfig& g) {
    if (!CheckMap(n, "'global'", kGlobalKeys, "in 'global'")) return;
    if (Get(n, "interval")) {
      if (auto d = PositiveDuration(Get(n, "interval"), "'global.interval'")) g.interval = *d;
    }
    if (Get(n, "timeout")) {
      if (auto d = PositiveDuration(Get(n, "timeout"), "'global.timeout'")) g.timeout = *d;
    }
    if (Get(n, "jitter")) {
      if (auto d = PositiveDuration(Get(n, "jitter"), "'global.jitter'", true)) g.jitter = *d;
    }
    if (Get(n, "max_retry_after")) {
      if (auto d = PositiveDuration(Get(n, "max_retry_after"), "'global.max_retry_after'", true)) {
        g.max_retry_after = *d;
      }
    }
    if (Get(n, "max_in_flight")) {
      if (auto v = Number<int>(Get(n, "max_in_flight"), "'global.max_in_flight'")) {
        if (*v < 1 || *v > 1000) {
          Error(Get(n, "max_in_flight"), "'global.max_in_flight' must be between 1 and 1000");
        } else {
          g.max_in_flight = *v;
        }
      }
    }
  }

  void ParseSecrets(const YAML::Node& n, Redactor& redactor) {
    if (!n.IsMap()) {
      Error(n, "'secrets' must be a mapping of name to {env|file|credential: ...}");
      return;
    }
    for (const auto& kv : n) {
      const std::string name = kv.first.Scalar();
      const std::string context = "in secret " + Quote(name);
      if (!ValidName(name)) {
        Error(kv.first, "invalid secret name " + Quote(name) + " (use letters, digits, _ - .)");
        continue;
      }
      if (secrets_.count(name) != 0) {
        Error(kv.first, "duplicate secret " + Quote(name));
        continue;
      }
      secrets_[name] = std::nullopt;  // known, even if it fails below
      const YAML::Node& src = kv.second;
      if (!CheckMap(src, "secret " + Quote(name), kSecretKeys, context)) continue;
      if (src.size() != 1) {
        Error(src, "secret " + Quote(name) + " needs exactly one of 'env', 'file', 'credential'");
        continue;
      }
      const auto& entry = *src.begin();
      SecretSource source;
      const auto kind = entry.first.Scalar();
      if (kind == "env") source.kind = SecretSource::Kind::kEnv;
      if (kind == "file") source.kind = SecretSource::Kind::kFile;
      if (kind == "credential") source.kind = SecretSource::Kind::kCredential;
      auto ref = String(entry.second, "secret " + Quote(name) + " source");
      if (!ref) continue;
      if (ref->empty()) {
        Error(entry.second, "secret " + Quote(name) + " has an empty " + kind);
        continue;
      }
      source.ref = *ref;
      std::string value;
      std::string error;
      const auto* fallback =
          options_.credential_fallback ? &*options_.credential_fallback : nullptr;
      bool unverifiable = false;
      if (!ResolveSecret(source, value, error, fallback, &unverifiable)) {
        if (unverifiable && options_.tolerate_unreadable_credentials) {
          unchecked_.push_back({Where(entry.second), "secret " + Quote(name) + ": " + error});
          secrets_[name] = "unchecked-credential";
          continue;
        }
        Error(entry.second, "secret " + Quote(name) + ": " + error);
        continue;
      }
      if (source.kind == SecretSource::Kind::kCredential) *uses_credentials_ = true;
      redactor.Add(value);
      secrets_[name] = std::move(value);
    }
  }

  // Parses `text` (found at `n`) into a template: ${secrets.NAME} becomes
  // the secret's value, other ${name} references become variables written
  // with `escape`, and "$${" is a literal "${". Without a scope only secrets
  // are allowed.
  std::optional<Template> ParseTemplate(const YAML::Node& n, const std::string& text,
                                        std::string_view what, const Scope* scope,
                                        Template::Escape escape) {
    Template out;
    bool ok = true;
    std::string literal;
    for (std::size_t i = 0; i < text.size();) {
      if (text.compare(i, 3, "$${") == 0) {
        literal += "${";
        i += 3;
        continue;
      }
      if (text.compare(i, 2, "${") != 0) {
        literal += text[i++];
        continue;
      }
      const auto end = text.find('}', i + 2);
      if (end == std::string::npos) {
        Error(n, "unterminated '${' in " + std::string(what));
        return std::nullopt;
      }
      const std::string var = text.substr(i + 2, end - i - 2);
      i = end + 1;
      constexpr std::string_view kPrefix = "secrets.";
      if (var.starts_with(kPrefix)) {
        if (auto value = Secret(n, var.substr(kPrefix.size()), what)) {
          literal += *value;
        } else {
          ok = false;
        }
        continue;
      }
      if (!Variable(n, var, what, scope)) {
        ok = false;
        continue;
      }
      out.Append(literal);
      literal.clear();
      out.AppendVariable(var, escape);
    }
    out.Append(literal);
    if (!ok) return std::nullopt;
    return out;
  }

  // The value of a declared, resolved secret; reports the error otherwise.
  std::optional<std::string> Secret(const YAML::Node& n, const std::string& name,
                                    std::string_view what) {
    auto it = secrets_.find(name);
    if (it == secrets_.end()) {
      std::vector<std::string_view> names;
      for (const auto& [k, v] : secrets_) names.push_back(k);
      std::string message = "unknown secret " + Quote(name) + " in " + std::string(what);
      if (auto s = Suggest(name, names); !s.empty()) message += "; did you mean " + Quote(s) + "?";
      Error(n, std::move(message));
      return std::nullopt;
    }
    return it->second;  // nullopt: its own error was reported where it is defined
  }

  // Whether `${var}` may be used here; reports why not.
  bool Variable(const YAML::Node& n, const std::string& var, std::string_view what,
                const Scope* scope) {
    const std::string ref = Quote("${" + var + "}");
    if (scope == nullptr) {
      Error(n, "unknown variable " + ref + " in " + std::string(what) +
                   "; only ${secrets.NAME} can be used here (write $${ for a literal ${)");
      return false;
    }
    if (IsBuiltinVariable(var) || scope->defined.count(var) != 0) return true;
    if (auto it = scope->later.find(var); it != scope->later.end()) {
      Error(n, "variable " + ref + " in " + std::string(what) + " is set by step " +
                   Quote(it->second) + ", which has not run yet at this point");
      return false;
    }
    std::vector<std::string_view> known{kBuiltinUuid, kBuiltinUnixMs, kBuiltinRunId};
    for (const auto& [k, v] : scope->defined) known.push_back(k);
    std::string message = "unknown variable " + ref + " in " + std::string(what) +
                          " (variables come from 'extract' of an earlier step, or are one of "
                          "uuid, unix_ms, run_id)";
    if (auto s = Suggest(var, known); !s.empty()) message += "; did you mean " + Quote(s) + "?";
    Error(n, std::move(message));
    return false;
  }

  // ${secrets.NAME} replaced, for values that take no variables.
  std::optional<std::string> Interpolate(const YAML::Node& n, const std::string& text,
                                         std::string_view what) {
    auto t = ParseTemplate(n, text, what, nullptr, Template::Escape::kNone);
    if (!t) return std::nullopt;
    return t->Text();
  }

  // A plain (unquoted) scalar typed the way YAML 1.2's core schema types
  // it: null, bool, integer or float; nullopt for strings.
  static std::optional<boost::json::value> PlainScalar(const YAML::Node& n) {
    if (n.Tag() == "!") return std::nullopt;  // quoted
    const auto& s = n.Scalar();
    if (s == "null" || s == "~") return boost::json::value(nullptr);
    if (s == "true") return boost::json::value(true);
    if (s == "false") return boost::json::value(false);
    std::int64_t i = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
    if (ec == std::errc{} && p == s.data() + s.size()) return boost::json::value(i);
    double d = 0;
    auto [p2, ec2] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec2 == std::errc{} && p2 == s.data() + s.size() && std::isfinite(d)) {
      return boost::json::value(d);
    }
    return std::nullopt;
  }

  // YAML to a JSON value: quoted scalars are strings, plain scalars typed;
  // secrets are filled in. The same conversion as request bodies use.
  std::optional<boost::json::value> ToJson(const YAML::Node& n, std::string_view what) {
    Template text;
    if (!JsonTemplate(n, what, nullptr, text)) return std::nullopt;
    boost::system::error_code ec;
    auto value = boost::json::parse(text.Text(), ec);
    if (ec) {
      Error(n, std::string(what) + " is not valid JSON");
      return std::nullopt;
    }
    return value;
  }

  // YAML to JSON text with variables in its strings, each written as JSON
  // string content when the step runs.
  bool JsonTemplate(const YAML::Node& n, std::string_view what, const Scope* scope, Template& out) {
    switch (n.Type()) {
      case YAML::NodeType::Null:
        out.Append("null");
        return true;
      case YAML::NodeType::Sequence: {
        out.Append("[");
        bool ok = true;
        bool first = true;
        for (const auto& item : n) {
          if (!first) out.Append(",");
          first = false;
          ok = JsonTemplate(item, what, scope, out) && ok;
        }
        out.Append("]");
        return ok;
      }
      case YAML::NodeType::Map: {
        out.Append("{");
        bool ok = true;
        bool first = true;
        for (const auto& kv : n) {
          if (!first) out.Append(",");
          first = false;
          out.Append("\"" + JsonEscaped(kv.first.Scalar()) + "\":");
          if (kv.second.IsScalar() && SensitiveName(kv.first.Scalar()) && !PlainScalar(kv.second)) {
            NoteInline(kv.second, kv.second.Scalar(), "JSON field " + Quote(kv.first.Scalar()));
          }
          ok = JsonTemplate(kv.second, what, scope, out) && ok;
        }
        out.Append("}");
        return ok;
      }
      case YAML::NodeType::Scalar: {
        if (auto typed = PlainScalar(n)) {
          out.Append(boost::json::serialize(*typed));
          return true;
        }
        auto t = ParseTemplate(n, n.Scalar(), what, scope, Template::Escape::kJson);
        if (!t) return false;
        out.Append("\"");
        for (const auto& part : t->parts) {
          if (part.variable) {
            out.AppendVariable(part.text, part.escape);
          } else {
            out.Append(JsonEscaped(part.text));
          }
        }
        out.Append("\"");
        return true;
      }
      case YAML::NodeType::Undefined:
        break;
    }
    Error(n, std::string(what) + " is not valid JSON");
    return false;
  }

  // A mapping of scalars to an application/x-www-form-urlencoded body.
  bool FormTemplate(const YAML::Node& n, const Scope* scope, Template& out) {
    if (!n.IsMap()) {
      Error(n, "'form' must be a mapping of field name to value");
      return false;
    }
    bool ok = true;
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      auto raw = String(kv.second, "form field " + Quote(key));
      if (raw && SensitiveName(key)) NoteInline(kv.second, *raw, "form field " + Quote(key));
      if (!raw) {
        ok = false;
        continue;
      }
      auto t = ParseTemplate(kv.second, *raw, "form field " + Quote(key), scope,
                             Template::Escape::kForm);
      if (!t) {
        ok = false;
        continue;
      }
      if (!out.parts.empty()) out.Append("&");
      out.Append(Escaped(key, Template::Escape::kForm) + "=");
      for (const auto& part : t->parts) {
        if (part.variable) {
          out.AppendVariable(part.text, part.escape);
        } else {
          out.Append(Escaped(part.text, Template::Escape::kForm));
        }
      }
    }
    return ok;
  }

  std::optional<std::vector<double>> BucketList(const YAML::Node& n, std::string_view what) {
    if (!n.IsSequence() || n.size() == 0) {
      Error(n, std::string(what) + " must be a non-empty list of upper bounds in seconds");
      return std::nullopt;
    }
    std::vector<double> out;
    for (const auto& item : n) {
      auto v = Number<double>(item, what);
      if (!v) return std::nullopt;
      if (!std::isfinite(*v) || *v <= 0) {
        Error(item, std::string(what) + " bounds must be positive and finite");
        return std::nullopt;
      }
      if (!out.empty() && *v <= out.back()) {
        Error(item, std::string(what) + " bounds must be strictly increasing");
        return std::nullopt;
      }
      out.push_back(*v);
    }
    return out;
  }

  void ParseTls(const YAML::Node& n, TlsConfig& tls, const std::string& ctx) {
    if (!CheckMap(n, "'tls'", kTlsKeys, ctx)) return;
    if (Get(n, "ca_file")) {
      if (auto s = String(Get(n, "ca_file"), "'tls.ca_file'")) {
        if (std::ifstream f(*s); !f) {
          Error(Get(n, "ca_file"), "cannot read 'tls.ca_file' " + Quote(*s) + ": " +
                                       std::generic_category().message(errno));
        } else {
          tls.ca_file = *s;
        }
      }
    }
    if (Get(n, "server_name")) {
      if (auto s = String(Get(n, "server_name"), "'tls.server_name'")) tls.server_name = *s;
    }
    if (Get(n, "insecure_skip_verify")) {
      if (auto b = Bool(Get(n, "insecure_skip_verify"), "'tls.insecure_skip_verify'")) {
        tls.insecure_skip_verify = *b;
      }
    }
  }

  void ParseHeaders(const YAML::Node& h, std::vector<HeaderTemplate>& out, const std::string& ctx,
                    const Scope* scope) {
    if (!h.IsMap()) {
      Error(h, "'headers' must be a mapping of name to value " + ctx);
      return;
    }
    for (const auto& kv : h) {
      const auto name = kv.first.Scalar();
      if (!ValidToken(name)) {
        Error(kv.first, "invalid header name " + Quote(name) + " " + ctx);
        continue;
      }
      auto raw = String(kv.second, "header " + Quote(name));
      if (!raw) continue;
      if (SensitiveName(name)) NoteInline(kv.second, *raw, "header " + Quote(name));
      auto value =
          ParseTemplate(kv.second, *raw, "header " + Quote(name), scope, Template::Escape::kNone);
      if (!value) continue;
      if (!ValidHeaderValue(value->Text())) {
        Error(kv.second, "header " + Quote(name) + " holds a line break");
        continue;
      }
      out.push_back({name, std::move(*value)});
    }
  }

  // The required `url` of `n` into `t.url`, and into `req.url` when it
  // takes no variables. With a scope it may use variables.
  void ParseUrl(const YAML::Node& n, HttpRequest& req, RequestTemplates& t, const std::string& ctx,
                const Scope* scope) {
    if (!Get(n, "url")) {
      Error(n, "missing 'url' " + ctx);
      return;
    }
    auto raw = String(Get(n, "url"), "'url'");
    if (!raw) return;
    auto url = ParseTemplate(Get(n, "url"), *raw, "'url'", scope, Template::Escape::kUrl);
    if (!url) return;
    // A variable at the very start is a whole base URL: inserted as it is
    // and checked when the step runs. Otherwise the URL's shape is checked
    // now, with placeholders for the variables.
    if (!url->parts.empty() && url->parts.front().variable) {
      url->parts.front().escape = Template::Escape::kNone;
    } else {
      std::string shape;
      for (const auto& part : url->parts) shape += part.variable ? "x" : part.text;
      std::string error;
      // Messages quote the text as written, which never holds a secret's value.
      if (auto parsed = ParseTargetUrl(shape, error, websocket_urls_)) {
        req.url = *parsed;
      } else {
        Error(Get(n, "url"), "URL " + Quote(*raw) + " " + error);
      }
    }
    t.url = std::move(*url);
  }

  // `ctx` ends messages ("in 'request' of probe 'x'"). With a scope
  // (scenario steps) the URL, headers and body may use variables.
  void ParseRequest(const YAML::Node& n, HttpRequest& req, RequestTemplates& t,
                    const std::string& ctx, const Scope* scope) {
    if (!CheckMap(n, "'request'", kRequestKeys, ctx)) return;
    if (Get(n, "method")) {
      if (auto s = String(Get(n, "method"), "'method'")) {
        if (!ValidToken(*s)) {
          Error(Get(n, "method"), "invalid HTTP method " + Quote(*s));
        } else {
          req.method = *s;
          std::transform(req.method.begin(), req.method.end(), req.method.begin(),
                         [](unsigned char c) { return std::toupper(c); });
        }
      }
    }
    ParseUrl(n, req, t, ctx, scope);
    if (Get(n, "headers")) ParseHeaders(Get(n, "headers"), t.headers, ctx, scope);
    const int bodies =
        (Get(n, "body") ? 1 : 0) + (Get(n, "json") ? 1 : 0) + (Get(n, "form") ? 1 : 0);
    if (bodies > 1) Error(n, "'body', 'json' and 'form' exclude each other " + ctx);
    auto default_type = [&](std::string_view type) {
      const bool has_type = std::any_of(t.headers.begin(), t.headers.end(), [](auto& h) {
        return EqualsIgnoreCase(h.name, "content-type");
      });
      if (!has_type) {
        Template value;
        value.Append(type);
        t.headers.push_back({"Content-Type", std::move(value)});
      }
    };
    if (Get(n, "body")) {
      if (auto raw = String(Get(n, "body"), "'body'")) {
        if (auto v =
                ParseTemplate(Get(n, "body"), *raw, "'body'", scope, Template::Escape::kNone)) {
          t.body = std::move(*v);
        }
      }
    } else if (Get(n, "json")) {
      if (JsonTemplate(Get(n, "json"), "'json'", scope, t.body)) default_type("application/json");
    } else if (Get(n, "form")) {
      if (FormTemplate(Get(n, "form"), scope, t.body)) {
        default_type("application/x-www-form-urlencoded");
      }
    }
    if (Get(n, "basic_auth")) {
      const auto& b = Get(n, "basic_auth");
      if (CheckMap(b, "'basic_auth'", kBasicAuthKeys, ctx)) {
        if (!Get(b, "username") || !Get(b, "password")) {
          Error(b, "'basic_auth' needs 'username' and 'password' " + ctx);
        } else {
          auto user = String(Get(b, "username"), "'basic_auth.username'");
          auto pass = String(Get(b, "password"), "'basic_auth.password'");
          if (user && pass) {
            auto u = Interpolate(Get(b, "username"), *user, "'basic_auth.username'");
            auto p = Interpolate(Get(b, "password"), *pass, "'basic_auth.password'");
            NoteInline(Get(b, "password"), *pass, "basic_auth password");
            if (u && p) {
              if (u->find(':') != std::string::npos) {
                Error(Get(b, "username"), "'basic_auth.username' must not contain ':'");
              } else {
                Template value;
                const std::string credentials = Base64(*u + ":" + *p);
                redactor_->Add(credentials);  // as good as the password itself
                value.Append("Basic " + credentials);
                t.headers.push_back({"Authorization", std::move(value)});
              }
            }
          }
        }
      }
    }
    if (Get(n, "keep_alive")) {
      if (auto b = Bool(Get(n, "keep_alive"), "'keep_alive'")) req.keep_alive = *b;
    }
    if (Get(n, "follow_redirects")) {
      if (auto v = Number<int>(Get(n, "follow_redirects"), "'follow_redirects'")) {
        if (*v < 0 || *v > 20) {
          Error(Get(n, "follow_redirects"), "'follow_redirects' must be between 0 and 20");
        } else {
          req.follow_redirects = *v;
        }
      }
    }
    if (Get(n, "body_limit")) {
      if (auto v = Size(Get(n, "body_limit"), "'body_limit'")) req.body_limit = *v;
    }
    if (Get(n, "header_limit")) {
      if (auto v = Size(Get(n, "header_limit"), "'header_limit'")) {
        if (*v > (1u << 20)) {
          Error(Get(n, "header_limit"), "'header_limit' must be at most 1MiB");
        } else {
          req.header_limit = *v;
        }
      }
    }
    if (Get(n, "tls")) {
      ParseTls(Get(n, "tls"), req.tls, ctx);
      if (req.url.scheme_id() == boost::urls::scheme::http) {
        Error(Get(n, "tls"), "'tls' is set but the URL is http:// " + ctx);
      }
    }
  }

  std::optional<StatusRange> Status(const YAML::Node& n) {
    if (n.IsScalar()) {
      const auto& s = n.Scalar();
      if (s.size() == 3 && s[0] >= '1' && s[0] <= '5' && (s[1] == 'x' || s[1] == 'X') &&
          (s[2] == 'x' || s[2] == 'X')) {
        const int base = (s[0] - '0') * 100;
        return StatusRange{base, base + 99};
      }
      int code = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), code);
      if (ec == std::errc{} && p == s.data() + s.size() && code >= 100 && code <= 599) {
        return StatusRange{code, code};
      }
    }
    Error(n, "invalid status " + (n.IsScalar() ? Quote(n.Scalar()) : std::string("value")) +
                 " (use a code from 100 to 599, or a class like 2xx)");
    return std::nullopt;
  }

  std::shared_ptr<const boost::regex> Regex(const YAML::Node& n, const std::string& source,
                                            std::string_view what) {
    try {
      return std::make_shared<const boost::regex>(source, boost::regex::ECMAScript);
    } catch (const boost::regex_error& e) {
      Error(n, "invalid regular expression in " + std::string(what) + ": " + e.what());
      return nullptr;
    }
  }

  // `owner` names what the expectations belong to: "probe 'x'" or
  // "step 'y' of probe 'x'".
  // A list of {pointer, equals}: in `expect` and a websocket `reply`.
  void ParseJsonExpectations(const YAML::Node& j, std::vector<JsonExpectation>& out,
                             const std::string& ctx) {
    if (!j.IsSequence()) {
      Error(j, "'json' must be a list of {pointer, equals} " + ctx);
      return;
    }
    for (const auto& item : j) {
      if (!CheckMap(item, "a 'json' expectation", kJsonExpectKeys, ctx)) continue;
      if (!Get(item, "pointer")) {
        Error(item, "a 'json' expectation needs 'pointer' " + ctx);
        continue;
      }
      auto p = Pointer(Get(item, "pointer"), "'pointer'");
      if (!p) continue;
      JsonExpectation e{*p, std::nullopt};
      if (Get(item, "equals")) {
        auto v = ToJson(Get(item, "equals"), "'equals'");
        if (!v) continue;
        e.equals = std::move(*v);
      }
      out.push_back(std::move(e));
    }
  }

  // `websocket: {send, messages, reply: {contains, regex, json}}`.
  void ParseWebSocket(const YAML::Node& n, WebSocketExchange& ws, const std::string& ctx) {
    if (!CheckMap(n, "'websocket'", kWebSocketKeys, ctx)) return;
    if (!Get(n, "send")) {
      Error(n, "missing 'send' (the message to send) " + ctx);
    } else if (auto raw = String(Get(n, "send"), "'send'")) {
      if (auto text = Interpolate(Get(n, "send"), *raw, "'send'")) ws.send = *text;
    }
    if (Get(n, "messages")) {
      if (auto v = Number<int>(Get(n, "messages"), "'messages'")) {
        if (*v < 1 || *v > 1000) {
          Error(Get(n, "messages"), "'messages' must be between 1 and 1000 " + ctx);
        } else {
          ws.messages = *v;
        }
      }
    }
    const auto& r = Get(n, "reply");
    if (!r || !CheckMap(r, "'reply'", kReplyKeys, ctx)) return;
    if (Get(r, "contains")) {
      if (auto v = String(Get(r, "contains"), "'reply.contains'")) ws.reply.body_contains = *v;
    }
    if (Get(r, "regex")) {
      if (auto v = String(Get(r, "regex"), "'reply.regex'")) {
        ws.reply.body_regex = Regex(Get(r, "regex"), *v, "'reply.regex'");
        ws.reply.body_regex_source = *v;
      }
    }
    if (const auto& j = Get(r, "json")) ParseJsonExpectations(j, ws.reply.json, ctx);
  }

  // The `request` (a WebSocket upgrade) and `websocket` keys of a
  // websocket probe or step. With a scope (a scenario step) the URL and
  // headers may use variables.
  void ParseWebSocketKeys(const YAML::Node& n, HttpRequest& req, RequestTemplates& t,
                          WebSocketExchange& ws, const std::string& owner, const Scope* scope) {
    const std::string ctx = "in " + owner;
    if (!Get(n, "request")) {
      Error(n, "missing 'request' (its 'url' is ws:// or wss://) " + ctx);
    } else {
      const auto& r = Get(n, "request");
      for (const auto key : kNotForWebSocket) {
        const std::string k(key);
        if (r.IsMap() && Get(r, k)) {
          Error(Get(r, k), Quote(k) + " does not apply to a WebSocket upgrade " + ctx);
        }
      }
      websocket_urls_ = true;
      ParseRequest(r, req, t, "in 'request' of " + owner, scope);
      websocket_urls_ = false;
    }
    if (!Get(n, "websocket")) {
      Error(n, "missing 'websocket' (what to send and the reply to wait for) " + ctx);
    } else {
      ParseWebSocket(Get(n, "websocket"), ws, "in 'websocket' of " + owner);
    }
  }

  void ParseExpect(const YAML::Node& n, Expectations& ex, const std::string& owner) {
    const std::string ctx = "in 'expect' of " + owner;
    if (!CheckMap(n, "'expect'", kExpectKeys, ctx)) return;
    if (const auto& s = Get(n, "status")) {
      if (s.IsSequence()) {
        if (s.size() == 0) Error(s, "'status' must list at least one code " + ctx);
        for (const auto& item : s) {
          if (auto r = Status(item)) ex.status.push_back(*r);
        }
      } else if (auto r = Status(s)) {
        ex.status.push_back(*r);
      }
    }
    if (Get(n, "body_contains")) {
      if (auto v = String(Get(n, "body_contains"), "'body_contains'")) ex.body_contains = *v;
    }
    if (Get(n, "body_regex")) {
      if (auto v = String(Get(n, "body_regex"), "'body_regex'")) {
        ex.body_regex = Regex(Get(n, "body_regex"), *v, "'body_regex'");
        ex.body_regex_source = *v;
      }
    }
    if (const auto& j = Get(n, "json")) ParseJsonExpectations(j, ex.json, ctx);
    if (const auto& h = Get(n, "headers")) {
      if (!h.IsMap()) {
        Error(h, "'headers' must map header names to {exists|equals|contains|regex} " + ctx);
      } else {
        for (const auto& kv : h) {
          const auto name = kv.first.Scalar();
          if (!ValidToken(name)) {
            Error(kv.first, "invalid header name " + Quote(name) + " " + ctx);
            continue;
          }
          if (!CheckMap(kv.second, "header expectation " + Quote(name), kHeaderExpectKeys, ctx)) {
            continue;
          }
          if (kv.second.size() != 1) {
            Error(kv.second, "header expectation " + Quote(name) +
                                 " needs exactly one of exists, equals, contains, regex");
            continue;
          }
          const auto& op = *kv.second.begin();
          HeaderExpectation e;
          e.name = name;
          const auto key = op.first.Scalar();
          if (key == "exists") {
            auto b = Bool(op.second, "'exists'");
            if (!b) continue;
            if (!*b) {
              Error(op.second, "'exists: false' is not supported; omit the header instead");
              continue;
            }
            e.op = HeaderExpectation::Op::kExists;
          } else {
            auto v = String(op.second, Quote(key));
            if (!v) continue;
            e.value = *v;
            if (key == "equals") e.op = HeaderExpectation::Op::kEquals;
            if (key == "contains") e.op = HeaderExpectation::Op::kContains;
            if (key == "regex") {
              e.op = HeaderExpectation::Op::kRegex;
              e.regex = Regex(op.second, *v, "header expectation " + Quote(name));
              if (!e.regex) continue;
            }
          }
          ex.headers.push_back(std::move(e));
        }
      }
    }
  }

  std::optional<LatencyObjective> ParseLatency(const YAML::Node& l, const std::string& key,
                                               const std::string& ctx) {
    if (!CheckMap(l, Quote(key), kLatencyKeys, ctx)) return std::nullopt;
    LatencyObjective lo;
    bool ok = true;
    if (!Get(l, "threshold")) {
      Error(l, Quote(key) + " needs 'threshold' " + ctx);
      ok = false;
    } else if (auto d = PositiveDuration(Get(l, "threshold"), "'" + key + ".threshold'")) {
      lo.threshold = *d;
    } else {
      ok = false;
    }
    if (Get(l, "quantile")) {
      auto q = Number<double>(Get(l, "quantile"), "'" + key + ".quantile'");
      if (!q || !(*q > 0 && *q < 1)) {
        if (q)
          Error(Get(l, "quantile"), "'" + key + ".quantile' must be between 0 and 1 (exclusive)");
        ok = false;
      } else {
        lo.quantile = *q;
      }
    }
    if (!ok) return std::nullopt;
    return lo;
  }

  void ParseObjectives(const YAML::Node& n, ProbeConfig& p, const std::string& probe) {
    const std::string ctx = "in 'objectives' of probe " + Quote(probe);
    if (!CheckMap(n, "'objectives'", kObjectiveKeys, ctx)) return;
    Objectives& o = p.objectives;
    const std::pair<const char*, std::optional<LatencyObjective>*> latencies[] = {
        {"latency", &o.latency},
        {"ttft", &o.ttft},
        {"inter_chunk", &o.inter_chunk},
        {"e2e", &o.e2e},
        {"round_trip", &o.round_trip}};
    for (const auto& [key, target] : latencies) {
      const auto& l = Get(n, key);
      if (!l) continue;
      const auto needs = target == &o.latency      ? p.type
                         : target == &o.round_trip ? ProbeType::kWebSocket
                                                   : ProbeType::kLlmStream;
      if (!p.Runs(needs)) {
        Error(l, Quote(key) + " objectives are for type " + Quote(ProbeTypeName(needs)) +
                     (target == &o.latency ? "" : " (or a scenario with such a step)") + " " + ctx);
        continue;
      }
      *target = ParseLatency(l, key, ctx);
      // Interval timeouts never see a slower run, so such a threshold
      // could never be breached.
      if (*target && (*target)->threshold > p.timeout) {
        Error(l, std::string(key) + " threshold " + FormatDuration((*target)->threshold) +
                     " is longer than the timeout " + FormatDuration(p.timeout) + " " + ctx);
      }
    }
    if (const auto& e = Get(n, "error_ratio")) {
      auto r = Number<double>(e, "'error_ratio'");
      if (r && !(*r > 0 && *r < 1)) {
        Error(e, "'error_ratio' must be between 0 and 1 (exclusive), e.g. 0.01 for 1 %");
      } else if (r) {
        o.error_ratio = *r;
      }
    }
  }

  // The required `name` of a probe or step (`kind`); `unnamed` says which
  // one lacks it.
  void Name(const YAML::Node& n, const std::string& unnamed, std::string_view kind,
            std::string& out) {
    if (!Get(n, "name")) {
      Error(n, unnamed + " has no 'name'");
    } else if (auto s = String(Get(n, "name"), "'name'")) {
      if (!ValidName(*s)) {
        Error(Get(n, "name"), "invalid " + std::string(kind) + " name " + Quote(*s) +
                                  " (1 to 128 letters, digits, '_', '-' or '.')");
      }
      out = *s;
    }
  }

  // The variable names a step's `extract` sets, if it is well-formed enough
  // to tell; for "set by a later step" messages.
  static std::vector<std::string> ExtractedNames(const YAML::Node& step) {
    std::vector<std::string> out;
    if (!step.IsMap()) return out;
    // Only HTTP steps extract.
    if (const auto& t = Get(step, "type"); t && (!t.IsScalar() || t.Scalar() != "http")) return out;
    const YAML::Node& e = Get(step, "extract");
    if (!e || !e.IsMap()) return out;
    for (const auto& kv : e) {
      if (kv.first.IsScalar()) out.push_back(kv.first.Scalar());
    }
    return out;
  }

  void ParseSteps(const YAML::Node& n, ProbeConfig& p, const std::string& probe) {
    const std::string ctx = "in probe " + Quote(probe);
    if (!n.IsSequence() || n.size() == 0) {
      Error(n, "'steps' must be a non-empty list " + ctx);
      return;
    }
    if (n.size() > kMaxSteps) {
      Error(n, "a scenario has at most " + std::to_string(kMaxSteps) + " steps " + ctx);
      return;
    }
    Scope scope;
    for (std::size_t i = n.size(); i-- > 0;) {
      const YAML::Node& step = n[i];
      std::string name = "#" + std::to_string(i + 1);
      if (step.IsMap() && Get(step, "name") && Get(step, "name").IsScalar())
        name = Get(step, "name").Scalar();
      for (auto& var : ExtractedNames(step)) scope.later[var] = name;
    }
    std::map<std::string, Location> names;
    std::optional<std::string> cached;  // the name of the cached step
    for (std::size_t i = 0; i < n.size(); ++i) {
      ScenarioStep step;
      ParseStep(n[i], i, probe, scope, step);
      if (!step.name.empty()) {
        auto [it, inserted] = names.emplace(step.name, step.location);
        if (!inserted) {
          Error(n[i]["name"], "duplicate step name " + Quote(step.name) + " " + ctx +
                                  " (first defined at line " + std::to_string(it->second.line) +
                                  ")");
        }
      }
      if (step.cache) {
        if (cached) {
          Error(n[i]["cache"], "only one step of a scenario can be cached (the login); step " +
                                   Quote(*cached) + " already is " + ctx);
        }
        cached = step.name;
      }
      p.steps.push_back(std::move(step));
    }
  }

  // "(supported: a, b)".
  static std::string Supported(std::span<const std::string_view> names) {
    std::string out = "(supported: ";
    for (const auto name : names) out += (out.back() == ' ' ? "" : ", ") + std::string(name);
    return out + ")";
  }

  // The `type` of a probe or step (`what`), one of `allowed`.
  std::optional<ProbeType> ParseType(const YAML::Node& n, std::span<const std::string_view> allowed,
                                     std::string_view what, const std::string& ctx) {
    auto type = String(n, "'type'");
    if (!type) return std::nullopt;
    for (const auto kind :
         {ProbeType::kHttp, ProbeType::kScenario, ProbeType::kLlmStream, ProbeType::kWebSocket}) {
      if (ProbeTypeName(kind) == *type &&
          std::find(allowed.begin(), allowed.end(), *type) != allowed.end()) {
        return kind;
      }
    }
    std::string message = "unknown " + std::string(what) + " type " + Quote(*type) + " " + ctx;
    if (auto s = Suggest(*type, allowed); !s.empty()) message += "; did you mean " + Quote(s) + "?";
    Error(n, message + " " + Supported(allowed));
    return std::nullopt;
  }

  void ParseStep(const YAML::Node& n, std::size_t index, const std::string& probe, Scope& scope,
                 ScenarioStep& step) {
    step.location = Where(n);
    std::string label = "#" + std::to_string(index + 1);
    if (n.IsMap() && Get(n, "name") && Get(n, "name").IsScalar()) label = Get(n, "name").Scalar();
    const std::string owner = "step " + Quote(label) + " of probe " + Quote(probe);
    const std::string ctx = "in " + owner;
    if (n.IsMap() && Get(n, "type")) {
      auto type = ParseType(Get(n, "type"), kStepTypes, "step", ctx);
      if (!type) return;
      step.type = *type;
    }
    const Keys keys = step.type == ProbeType::kLlmStream   ? Keys(kLlmStepKeys)
                      : step.type == ProbeType::kWebSocket ? Keys(kWebSocketStepKeys)
                                                           : Keys(kStepKeys);
    if (!CheckMap(n, owner, keys, ctx)) return;
    Name(n, "step #" + std::to_string(index + 1) + " of probe " + Quote(probe), "step", step.name);
    if (Get(n, "always")) {
      if (auto b = Bool(Get(n, "always"), "'always'")) step.always = *b;
    }
    RequestTemplates t;
    if (step.type == ProbeType::kLlmStream) {
      ParseLlm(n, step.llm, step.request, t, ctx, &scope);
    } else if (step.type == ProbeType::kWebSocket) {
      ParseWebSocketKeys(n, step.request, t, step.websocket, owner, &scope);
    } else if (!Get(n, "request")) {
      Error(n, "missing 'request' " + ctx);
    } else {
      ParseRequest(Get(n, "request"), step.request, t, "in 'request' of " + owner, &scope);
    }
    step.url = std::move(t.url);
    step.headers = std::move(t.headers);
    step.body = std::move(t.body);
    if (Get(n, "expect")) ParseExpect(Get(n, "expect"), step.expect, owner);
    if (Get(n, "cache")) {
      ParseCache(Get(n, "cache"), step, ctx);
      if (step.always && step.cache) {
        Error(Get(n, "cache"), "a cached step cannot also be 'always' " + ctx);
      }
    }
    if (Get(n, "extract")) ParseExtract(Get(n, "extract"), step, ctx);
    // Later steps may use what this one extracts.
    for (const auto& e : step.extract) scope.defined[e.variable] = step.name;
  }

  void ParseCache(const YAML::Node& n, ScenarioStep& step, const std::string& ctx) {
    if (!CheckMap(n, "'cache'", kCacheKeys, ctx)) return;
    StepCache cache;
    if (!Get(n, "ttl")) {
      Error(n, "'cache' needs 'ttl', the longest time its values are reused " + ctx);
      return;
    }
    auto ttl = PositiveDuration(Get(n, "ttl"), "'cache.ttl'");
    if (!ttl) return;
    cache.ttl = *ttl;
    if (Get(n, "expires_in")) {
      auto p = Pointer(Get(n, "expires_in"), "'cache.expires_in'");
      if (!p) return;
      cache.expires_in = *p;
    }
    step.cache = std::move(cache);
  }

  void ParseExtract(const YAML::Node& n, ScenarioStep& step, const std::string& ctx) {
    if (!n.IsMap()) {
      Error(n, "'extract' must map variable names to {json|header|regex|status} " + ctx);
      return;
    }
    std::set<std::string> seen;
    for (const auto& kv : n) {
      const std::string var = kv.first.Scalar();
      const std::string what = "extraction of " + Quote(var);
      if (!seen.insert(var).second) {
        Error(kv.first, "duplicate variable " + Quote(var) + " " + ctx);
        continue;
      }
      if (!ValidVariableName(var)) {
        Error(kv.first, "invalid variable name " + Quote(var) +
                            " (letters, digits and '_', not starting with a digit) " + ctx);
        continue;
      }
      if (IsBuiltinVariable(var) || var == "secrets") {
        Error(kv.first, Quote(var) + " is a built-in name and cannot be extracted into " + ctx);
        continue;
      }
      const YAML::Node& e = kv.second;
      if (!CheckMap(e, what, kExtractKeys, ctx)) continue;
      Extraction x;
      x.variable = var;
      const int sources =
          (Get(e, "json") ? 1 : 0) + (Get(e, "header") ? 1 : 0) + (Get(e, "status") ? 1 : 0);
      if (sources > 1 || (sources == 0 && !Get(e, "regex"))) {
        std::string message = what;
        message += " needs exactly one of 'json', 'header', 'status', or a 'regex' over the body ";
        message += ctx;
        Error(e, std::move(message));
        continue;
      }
      if (Get(e, "json")) {
        auto p = Pointer(Get(e, "json"), "'json'");
        if (!p) continue;
        x.source = Extraction::Source::kJson;
        x.key = *p;
      } else if (Get(e, "header")) {
        auto h = String(Get(e, "header"), "'header'");
        if (!h) continue;
        if (!ValidToken(*h)) {
          Error(Get(e, "header"), "invalid header name " + Quote(*h) + " " + ctx);
          continue;
        }
        x.source = Extraction::Source::kHeader;
        x.key = *h;
      } else if (Get(e, "status")) {
        auto b = Bool(Get(e, "status"), "'status'");
        if (!b) continue;
        if (!*b) {
          Error(Get(e, "status"), "'status: false' extracts nothing; omit it " + ctx);
          continue;
        }
        x.source = Extraction::Source::kStatus;
      } else {
        x.source = Extraction::Source::kBody;
      }
      if ((x.source == Extraction::Source::kJson || x.source == Extraction::Source::kStatus) &&
          (Get(e, "regex") || Get(e, "group"))) {
        Error(e, "'regex' and 'group' apply to 'header' or the body, not here " + ctx);
        continue;
      }
      if (Get(e, "regex")) {
        auto r = String(Get(e, "regex"), "'regex'");
        if (!r) continue;
        x.regex = Regex(Get(e, "regex"), *r, what);
        if (!x.regex) continue;
        x.regex_source = *r;
        x.group = x.regex->mark_count() >= 1 ? 1 : 0;
      }
      if (Get(e, "group")) {
        if (!Get(e, "regex")) {
          Error(Get(e, "group"), "'group' needs a 'regex' " + ctx);
          continue;
        }
        auto g = Number<int>(Get(e, "group"), "'group'");
        if (!g) continue;
        if (*g < 0 || static_cast<std::size_t>(*g) > x.regex->mark_count()) {
          Error(Get(e, "group"), "'group' " + std::to_string(*g) +
                                     " does not exist: the regex has " +
                                     std::to_string(x.regex->mark_count()) + " capture group(s)");
          continue;
        }
        x.group = *g;
      }
      step.extract.push_back(std::move(x));
    }
  }

  std::optional<std::string> NonEmpty(const YAML::Node& n, std::string_view what) {
    auto s = String(n, what);
    if (s && s->empty()) {
      Error(n, std::string(what) + " must not be empty");
      return std::nullopt;
    }
    return s;
  }

  void ParseMessages(const YAML::Node& n, std::vector<LlmMessage>& out, const std::string& ctx) {
    if (!n.IsSequence() || n.size() == 0) {
      Error(n, "'messages' must be a non-empty list of {role, content} " + ctx);
      return;
    }
    for (const auto& m : n) {
      if (!CheckMap(m, "a message", kMessageKeys, ctx)) continue;
      if (!Get(m, "role") || !Get(m, "content")) {
        Error(m, "a message needs 'role' and 'content' " + ctx);
        continue;
      }
      auto role = String(Get(m, "role"), "'role'");
      auto content = NonEmpty(Get(m, "content"), "'content'");
      if (!role || !content) continue;
      if (*role != "system" && *role != "user" && *role != "assistant") {
        Error(Get(m, "role"),
              "invalid role " + Quote(*role) + " (system, user or assistant) " + ctx);
        continue;
      }
      out.push_back({*role, *content});
    }
  }

  // Headers the API needs, unless the config sets the same one.
  static void DefaultHeader(std::vector<HeaderTemplate>& headers, std::string name,
                            std::string_view value) {
    const bool set = std::any_of(headers.begin(), headers.end(), [&](const HeaderTemplate& h) {
      return EqualsIgnoreCase(h.name, name);
    });
    if (set) return;
    Template t;
    t.Append(value);
    headers.push_back({std::move(name), std::move(t)});
  }

  // The keys of an llm_stream probe or step. The URL and headers go into
  // `t`; with a scope (a scenario step) they and 'api_key' may use variables.
  void ParseLlm(const YAML::Node& n, LlmStream& llm, HttpRequest& req, RequestTemplates& t,
                const std::string& ctx, const Scope* scope) {
    req.method = "POST";
    req.body_limit = kLlmBodyLimit;
    constexpr std::array<std::string_view, 3> kApis{"openai", "anthropic", "ollama"};
    if (!Get(n, "api")) {
      Error(n, "missing 'api' (openai, anthropic or ollama) " + ctx);
    } else if (auto api = String(Get(n, "api"), "'api'")) {
      if (*api == "openai") {
        llm.api = LlmApi::kOpenAi;
      } else if (*api == "anthropic") {
        llm.api = LlmApi::kAnthropic;
      } else if (*api == "ollama") {
        llm.api = LlmApi::kOllama;
      } else {
        std::string message = "unknown api " + Quote(*api) + " " + ctx;
        if (auto s = Suggest(*api, kApis); !s.empty())
          message += "; did you mean " + Quote(s) + "?";
        Error(Get(n, "api"), message + " (openai, anthropic or ollama)");
      }
    }
    ParseUrl(n, req, t, ctx, scope);
    if (!Get(n, "model")) {
      Error(n, "missing 'model' " + ctx);
    } else if (auto model = NonEmpty(Get(n, "model"), "'model'")) {
      llm.model = *model;
    }
    if (Get(n, "prompt") && Get(n, "messages")) {
      Error(Get(n, "messages"), "'prompt' and 'messages' exclude each other " + ctx);
    } else if (Get(n, "prompt")) {
      if (auto prompt = NonEmpty(Get(n, "prompt"), "'prompt'"))
        llm.messages.push_back({"user", *prompt});
    } else if (Get(n, "messages")) {
      ParseMessages(Get(n, "messages"), llm.messages, ctx);
    } else {
      Error(n, "missing 'prompt' (or 'messages') " + ctx);
    }
    if (Get(n, "max_tokens")) {
      if (auto v = Number<std::int64_t>(Get(n, "max_tokens"), "'max_tokens'")) {
        if (*v < 1 || *v > 1000000) {
          Error(Get(n, "max_tokens"), "'max_tokens' must be between 1 and 1000000 " + ctx);
        } else {
          llm.max_tokens = *v;
        }
      }
    }
    if (Get(n, "temperature")) {
      if (auto v = Number<double>(Get(n, "temperature"), "'temperature'")) {
        if (!(*v >= 0 && *v <= 2)) {
          Error(Get(n, "temperature"), "'temperature' must be between 0 and 2 " + ctx);
        } else {
          llm.temperature = *v;
        }
      }
    }
    if (Get(n, "include_usage")) {
      if (llm.api != LlmApi::kOpenAi) {
        Error(Get(n, "include_usage"),
              "'include_usage' is for api 'openai' (the others always "
              "report usage) " +
                  ctx);
      } else if (auto b = Bool(Get(n, "include_usage"), "'include_usage'")) {
        llm.include_usage = *b;
      }
    }
    if (Get(n, "nonce")) {
      if (auto b = Bool(Get(n, "nonce"), "'nonce'")) llm.nonce = *b;
    }
    if (Get(n, "extra_body")) {
      if (auto v = ToJson(Get(n, "extra_body"), "'extra_body'")) {
        if (!v->is_object()) {
          Error(Get(n, "extra_body"), "'extra_body' must be a mapping of fields to add " + ctx);
        } else {
          for (const char* key : {"stream", "model", "messages"}) {
            if (v->as_object().contains(key)) {
              Error(Get(n, "extra_body"), "'extra_body' must not set " + Quote(key) +
                                              ": the probe sets it from its own keys " + ctx);
            }
          }
          llm.extra_body = std::move(v->as_object());
        }
      }
    }
    if (Get(n, "headers")) ParseHeaders(Get(n, "headers"), t.headers, ctx, scope);
    if (Get(n, "api_key")) {
      if (auto raw = NonEmpty(Get(n, "api_key"), "'api_key'")) {
        NoteInline(Get(n, "api_key"), *raw, "api_key");
        if (auto key = ParseTemplate(Get(n, "api_key"), *raw, "'api_key'", scope,
                                     Template::Escape::kNone)) {
          const bool anthropic = llm.api == LlmApi::kAnthropic;
          const std::string name = anthropic ? "x-api-key" : "Authorization";
          if (key->Static() && (key->Text().empty() || !ValidHeaderValue(key->Text()))) {
            Error(Get(n, "api_key"), "'api_key' is empty or holds a line break " + ctx);
          } else if (std::any_of(t.headers.begin(), t.headers.end(), [&](const HeaderTemplate& h) {
                       return EqualsIgnoreCase(h.name, name);
                     })) {
            Error(Get(n, "api_key"), "header " + Quote(name) + " is set both by 'api_key' and in " +
                                         "'headers' " + ctx);
          } else {
            // Written into the config or not, a key is a secret. One taken
            // from a variable is scrubbed by the run that extracted it.
            if (key->Static()) redactor_->Add(key->Text());
            Template value;
            if (!anthropic) value.Append("Bearer ");
            for (auto& part : key->parts) {
              if (part.variable) {
                value.AppendVariable(std::move(part.text), part.escape);
              } else {
                value.Append(part.text);
              }
            }
            t.headers.push_back({name, std::move(value)});
          }
        }
      }
    }
    if (llm.api == LlmApi::kAnthropic) DefaultHeader(t.headers, "anthropic-version", "2023-06-01");
    DefaultHeader(t.headers, "Content-Type", "application/json");
    DefaultHeader(t.headers, "Accept",
                  llm.api == LlmApi::kOllama ? "application/x-ndjson" : "text/event-stream");
    if (Get(n, "tls")) {
      ParseTls(Get(n, "tls"), req.tls, ctx);
      if (req.url.scheme_id() == boost::urls::scheme::http) {
        Error(Get(n, "tls"), "'tls' is set but the URL is http:// " + ctx);
      }
    }
    if (Get(n, "keep_alive")) {
      if (auto b = Bool(Get(n, "keep_alive"), "'keep_alive'")) req.keep_alive = *b;
    }
    if (Get(n, "body_limit")) {
      if (auto v = Size(Get(n, "body_limit"), "'body_limit'")) req.body_limit = *v;
    }
  }

  void ParseProbe(const YAML::Node& n, std::size_t index, const GlobalConfig& g, ProbeConfig& p) {
    p.location = Where(n);
    std::string label = "#" + std::to_string(index + 1);
    if (n.IsMap() && Get(n, "name") && Get(n, "name").IsScalar()) label = Get(n, "name").Scalar();
    const std::string ctx = "in probe " + Quote(label);
    if (!CheckMap(n, "probe " + Quote(label), kProbeKeys, ctx)) return;
    Name(n, "probe #" + std::to_string(index + 1), "probe", p.name);
    if (!Get(n, "type")) {
      Error(n, "missing 'type' " + ctx + " " + Supported(kProbeTypes));
      return;
    }
    auto type = ParseType(Get(n, "type"), kProbeTypes, "probe", ctx);
    if (!type) return;
    p.type = *type;
    p.interval = g.interval;
    p.timeout = g.timeout;
    p.jitter = g.jitter;
    p.max_in_flight = g.max_in_flight;
    p.max_retry_after = g.max_retry_after;
    if (Get(n, "interval")) {
      if (auto d = PositiveDuration(Get(n, "interval"), "'interval'")) p.interval = *d;
    }
    if (Get(n, "timeout")) {
      if (auto d = PositiveDuration(Get(n, "timeout"), "'timeout'")) p.timeout = *d;
    }
    if (Get(n, "jitter")) {
      if (auto d = PositiveDuration(Get(n, "jitter"), "'jitter'", true)) p.jitter = *d;
    }
    if (p.jitter >= p.interval) {
      Error(Get(n, "jitter") ? Get(n, "jitter") : n, "'jitter' (" + FormatDuration(p.jitter) +
                                                         ") must be shorter than 'interval' (" +
                                                         FormatDuration(p.interval) + ") " + ctx);
    }
    if (Get(n, "max_in_flight")) {
      if (auto v = Number<int>(Get(n, "max_in_flight"), "'max_in_flight'")) {
        if (*v < 1 || *v > 1000) {
          Error(Get(n, "max_in_flight"), "'max_in_flight' must be between 1 and 1000 " + ctx);
        } else {
          p.max_in_flight = *v;
        }
      }
    }
    if (Get(n, "max_retry_after")) {
      if (auto d = PositiveDuration(Get(n, "max_retry_after"), "'max_retry_after'", true)) {
        p.max_retry_after = *d;
      }
    }
    const std::string owner = "probe " + Quote(label);
    if (p.type != ProbeType::kLlmStream) {
      for (const auto key : kLlmKeys) {
        const std::string k(key);
        if (Get(n, k)) Error(Get(n, k), Quote(k) + " is for type 'llm_stream' " + ctx);
      }
    }
    if (p.type != ProbeType::kWebSocket && Get(n, "websocket")) {
      Error(Get(n, "websocket"), "'websocket' is for type 'websocket' " + ctx);
    }
    if (p.type == ProbeType::kWebSocket) {
      for (const char* key : {"expect", "steps"}) {
        if (Get(n, key)) Error(Get(n, key), Quote(key) + " is not used by type 'websocket' " + ctx);
      }
      RequestTemplates t;
      ParseWebSocketKeys(n, p.request, t, p.websocket, owner, nullptr);
      Flatten(t, p.request);
    } else if (p.type == ProbeType::kHttp) {
      if (Get(n, "steps")) Error(Get(n, "steps"), "'steps' is for type 'scenario' " + ctx);
      if (!Get(n, "request")) {
        Error(n, "missing 'request' " + ctx);
      } else {
        RequestTemplates t;
        ParseRequest(Get(n, "request"), p.request, t, "in 'request' of " + owner, nullptr);
        Flatten(t, p.request);
      }
      if (Get(n, "expect")) ParseExpect(Get(n, "expect"), p.expect, owner);
    } else if (p.type == ProbeType::kScenario) {
      for (const char* key : {"request", "expect"}) {
        if (Get(n, key)) {
          Error(Get(n, key), Quote(key) + " belongs in each step of a scenario " + ctx);
        }
      }
      if (!Get(n, "steps")) {
        Error(n, "missing 'steps' " + ctx);
      } else {
        ParseSteps(Get(n, "steps"), p, label);
      }
    } else {
      for (const char* key : {"request", "expect", "steps"}) {
        if (Get(n, key)) {
          Error(Get(n, key), Quote(key) +
                                 " is not used by type 'llm_stream': its request is built " +
                                 "from 'url', 'model' and the prompt " + ctx);
        }
      }
      RequestTemplates t;
      ParseLlm(n, p.llm, p.request, t, ctx, nullptr);
      Flatten(t, p.request);
    }
    if (Get(n, "objectives")) ParseObjectives(Get(n, "objectives"), p, label);
    if (const auto& b = Get(n, "buckets")) {
      if (CheckMap(b, "'buckets'", kBucketKeys, ctx)) {
        if (Get(b, "duration")) {
          if (auto v = BucketList(Get(b, "duration"), "'buckets.duration'"))
            p.buckets.duration = *v;
        }
        if (Get(b, "phase")) {
          if (auto v = BucketList(Get(b, "phase"), "'buckets.phase'")) p.buckets.phase = *v;
        }
        const std::pair<const char*, std::vector<double>*> typed[] = {
            {"ttft", &p.buckets.ttft},
            {"inter_chunk", &p.buckets.inter_chunk},
            {"e2e", &p.buckets.e2e},
            {"round_trip", &p.buckets.round_trip}};
        for (const auto& [key, target] : typed) {
          if (!Get(b, key)) continue;
          const auto needs =
              target == &p.buckets.round_trip ? ProbeType::kWebSocket : ProbeType::kLlmStream;
          if (!p.Runs(needs)) {
            Error(Get(b, key), "'buckets." + std::string(key) + "' is for type " +
                                   Quote(ProbeTypeName(needs)) +
                                   " (or a scenario with such a step) " + ctx);
          } else if (auto v = BucketList(Get(b, key), "'buckets." + std::string(key) + "'")) {
            *target = *v;
          }
        }
      }
    }
  }

  void ParseSharding(const YAML::Node& n, ShardingConfig& out) {
    const std::string ctx = "in 'sharding'";
    if (!CheckMap(n, "'sharding'", kShardingKeys, ctx)) return;
    if (!Get(n, "shards") || !Get(n, "shard")) {
      Error(n, "'sharding' needs 'shards' (how many instances) and 'shard' (this one, from 0)");
      return;
    }
    const auto shards = Number<std::int64_t>(Get(n, "shards"), "'sharding.shards'");
    const auto shard = Number<std::int64_t>(Get(n, "shard"), "'sharding.shard'");
    if (!shards || !shard) return;
    if (*shards < 1 || *shards > 10000) {
      Error(Get(n, "shards"),
            "'sharding.shards' must be from 1 to 10000, got " + std::to_string(*shards));
      return;
    }
    if (*shard < 0 || *shard >= *shards) {
      Error(Get(n, "shard"), "'sharding.shard' must be from 0 to " + std::to_string(*shards - 1) +
                                 " (one less than 'shards'), got " + std::to_string(*shard));
      return;
    }
    out.shards = static_cast<std::uint32_t>(*shards);
    out.shard = static_cast<std::uint32_t>(*shard);
  }

  void ParseExternalLabels(const YAML::Node& n, Config& config) {
    if (!n.IsMap()) {
      Error(n,
            "'external_labels' must be a mapping of label names to values, e.g. "
            "{location: eu-west-1}");
      return;
    }
    std::set<std::string> seen;
    for (const auto& kv : n) {
      const auto name = String(kv.first, "an external label name");
      const auto value = String(kv.second, "external label " + Quote(kv.first.Scalar()));
      if (!name || !value) continue;
      const bool valid =
          !name->empty() && !std::isdigit(static_cast<unsigned char>(name->front())) &&
          std::all_of(name->begin(), name->end(),
                      [](unsigned char c) { return std::isalnum(c) != 0 || c == '_'; });
      if (!valid) {
        Error(kv.first, "external label " + Quote(*name) +
                            " is not a label name: letters, digits and '_', not starting "
                            "with a digit");
      } else if (name->starts_with("__")) {
        Error(kv.first, "external label " + Quote(*name) + ": names starting with '__' are " +
                            "reserved for Prometheus");
      } else if (std::find(kReservedLabels.begin(), kReservedLabels.end(), *name) !=
                 kReservedLabels.end()) {
        Error(kv.first, "external label " + Quote(*name) +
                            " is a label sloprobe or Prometheus already sets; choose another "
                            "name, e.g. 'location'");
      } else if (value->empty()) {
        Error(kv.second, "external label " + Quote(*name) +
                             " is empty; Prometheus treats an empty label as absent");
      } else if (!seen.insert(*name).second) {
        Error(kv.first, "external label " + Quote(*name) + " is given twice");
      } else {
        config.external_labels.emplace_back(*name, *value);
      }
    }
  }

  void ParseOtlp(const YAML::Node& n, Config& config) {
    const std::string ctx = "in 'otlp'";
    if (!CheckMap(n, "'otlp'", kOtlpKeys, ctx)) return;
    OtlpConfig o;
    if (!Get(n, "endpoint")) {
      Error(n, "'otlp' needs an 'endpoint', e.g. http://collector:4318/v1/metrics");
    } else if (auto raw = String(Get(n, "endpoint"), "'otlp.endpoint'")) {
      if (auto text = Interpolate(Get(n, "endpoint"), *raw, "'otlp.endpoint'")) {
        std::string error;
        if (auto url = ParseTargetUrl(*text, error)) {
          o.endpoint = *url;
          if (o.endpoint.path().empty() || o.endpoint.path() == "/") {
            o.endpoint.set_path("/v1/metrics");
          }
        } else {
          Error(Get(n, "endpoint"), "'otlp.endpoint' " + error);
        }
      }
    }
    if (Get(n, "headers")) {
      std::vector<HeaderTemplate> headers;
      ParseHeaders(Get(n, "headers"), headers, ctx, nullptr);
      for (const auto& h : headers) o.headers.push_back({h.name, h.value.Text()});
    }
    if (Get(n, "interval")) {
      if (auto d = PositiveDuration(Get(n, "interval"), "'otlp.interval'")) o.interval = *d;
    }
    if (Get(n, "timeout")) {
      if (auto d = PositiveDuration(Get(n, "timeout"), "'otlp.timeout'")) o.timeout = *d;
    }
    if (Get(n, "encoding")) {
      if (auto e = String(Get(n, "encoding"), "'otlp.encoding'")) {
        if (*e == "protobuf") {
          o.encoding = OtlpConfig::Encoding::kProtobuf;
        } else if (*e == "json") {
          o.encoding = OtlpConfig::Encoding::kJson;
        } else {
          Error(Get(n, "encoding"),
                "'otlp.encoding' must be 'protobuf' or 'json', not " + Quote(*e));
        }
      }
    }
    if (Get(n, "compression")) {
      if (auto c = String(Get(n, "compression"), "'otlp.compression'")) {
        if (*c == "gzip" || *c == "none") {
          o.gzip = *c == "gzip";
        } else {
          Error(Get(n, "compression"),
                "'otlp.compression' must be 'gzip' or 'none', not " + Quote(*c));
        }
      }
    }
    if (const auto& r = Get(n, "resource")) {
      if (!r.IsMap()) {
        Error(r, "'otlp.resource' must be a mapping of attribute name to value");
      } else {
        for (const auto& kv : r) {
          const auto key = kv.first.Scalar();
          if (key.empty()) {
            Error(kv.first, "an 'otlp.resource' attribute name is empty");
            continue;
          }
          if (auto v = String(kv.second, "resource attribute " + Quote(key))) {
            o.resource.emplace_back(key, *v);
          }
        }
      }
    }
    if (Get(n, "tls")) {
      ParseTls(Get(n, "tls"), o.tls, ctx);
      if (o.endpoint.scheme_id() == boost::urls::scheme::http) {
        Error(Get(n, "tls"), "'tls' is set but the endpoint is http:// " + ctx);
      }
    }
    o.fingerprint = Fingerprint(n);
    config.otlp = std::move(o);
  }

  void ParseProbes(const YAML::Node& n, Config& config) {
    if (!n.IsSequence()) {
      Error(n, "'probes' must be a list");
      return;
    }
    if (n.size() == 0) {
      Error(n, "'probes' is empty: there is nothing to run");
      return;
    }
    std::map<std::string, Location> names;
    for (std::size_t i = 0; i < n.size(); ++i) {
      ProbeConfig p;
      ParseProbe(n[i], i, config.global, p);
      p.fingerprint = Fingerprint(n[i]);
      if (!p.name.empty()) {
        auto [it, inserted] = names.emplace(p.name, p.location);
        if (!inserted) {
          Error(n[i]["name"], "duplicate probe name " + Quote(p.name) + " (first defined at line " +
                                  std::to_string(it->second.line) + ")");
        }
      }
      config.probes.push_back(std::move(p));
    }
  }

  // The node's content with style, key order, comments and positions left
  // out: two spellings of the same YAML give the same text.
  static void Canonical(const YAML::Node& n, std::string& out) {
    switch (n.Type()) {
      case YAML::NodeType::Map: {
        std::vector<std::pair<std::string, std::string>> entries;
        for (const auto& kv : n) {
          std::string k, v;
          Canonical(kv.first, k);
          Canonical(kv.second, v);
          entries.emplace_back(std::move(k), std::move(v));
        }
        std::sort(entries.begin(), entries.end());
        out += '{';
        for (const auto& [k, v] : entries) out += k + ':' + v + ',';
        out += '}';
        break;
      }
      case YAML::NodeType::Sequence:
        out += '[';
        for (const auto& item : n) {
          Canonical(item, out);
          out += ',';
        }
        out += ']';
        break;
      case YAML::NodeType::Scalar:
        out += std::to_string(n.Scalar().size()) + '"' + n.Scalar();
        break;
      default:
        out += '~';
    }
  }

  // See ProbeConfig::fingerprint. Secret values enter only as hashes.
  std::string Fingerprint(const YAML::Node& probe) const {
    std::string text;
    Canonical(probe, text);
    std::string f = global_text_ + "\n---\n" + text;
    constexpr std::string_view kRef = "secrets.";
    for (auto at = text.find(kRef); at != std::string::npos; at = text.find(kRef, at + 1)) {
      auto end = at + kRef.size();
      while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) ||
                                   text[end] == '_' || text[end] == '-' || text[end] == '.')) {
        ++end;
      }
      const auto name = text.substr(at + kRef.size(), end - at - kRef.size());
      const auto it = secrets_.find(name);
      if (it == secrets_.end() || !it->second) continue;
      std::uint64_t h = 14695981039346656037ull;  // FNV-1a
      for (unsigned char c : *it->second) {
        h ^= c;
        h *= 1099511628211ull;
      }
      f += "\n" + name + "=" + std::to_string(h);
    }
    return f;
  }

  std::string global_text_;
  std::vector<std::string>* inline_ = nullptr;  // the config's, while loading
  Redactor* redactor_ = nullptr;                // the config's, while loading
  // Declared secrets; nullopt when the secret could not be resolved.
  std::map<std::string, std::optional<std::string>, std::less<>> secrets_;
};

}  // namespace

LoadOptions ByHandLoadOptions(bool tolerate) {
  LoadOptions options;
  options.credential_fallback.emplace();
  options.tolerate_unreadable_credentials = tolerate;
  return options;
}

LoadResult LoadConfigString(std::string_view yaml, const std::string& file,
                            const LoadOptions& options) {
  return Loader(file, options).Load(yaml);
}

LoadResult LoadConfigFile(const std::string& path, const LoadOptions& options) {
  const auto read_at = std::chrono::steady_clock::now();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult result;
    result.errors.push_back({Location{path, 0, 0}, std::string("cannot read the file: ") +
                                                       std::generic_category().message(errno)});
    result.read_at = read_at;
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto result = LoadConfigString(text.str(), path, options);
  result.read_at = read_at;
  return result;
}

}  // namespace sloprobe::config
