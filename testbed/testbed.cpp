#include "testbed/testbed.hpp"

#include <yaml-cpp/yaml.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <deque>
#include <list>
#include <random>
#include <stdexcept>

#include "config/duration.hpp"
#include "testbed/llm.hpp"

namespace sloprobe::testbed {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

constexpr std::pair<std::string_view, Action> kActions[] = {
    {"none", Action::kNone},
    {"reset_before_headers", Action::kResetBeforeHeaders},
    {"reset_mid_body", Action::kResetMidBody},
    {"stall", Action::kStall},
    {"slow_body", Action::kSlowBody},
    {"garbage_status", Action::kGarbageStatus},
    {"huge_headers", Action::kHugeHeaders},
    {"bad_chunked", Action::kBadChunked},
    {"reset_mid_headers", Action::kResetMidHeaders},
    {"empty_json", Action::kEmptyJson},
    {"ws_close", Action::kWsClose},
};

std::string_view ActionName(Action a) {
  for (const auto& [name, action] : kActions) {
    if (action == a) return name;
  }
  return "none";
}

Duration DurationField(const YAML::Node& n, const char* key) {
  auto d = config::ParseDuration(n.Scalar());
  if (!d) {
    throw std::runtime_error("line " + std::to_string(n.Mark().line + 1) + ": invalid duration '" +
                             n.Scalar() + "' for '" + key + "'");
  }
  return *d;
}

bool PathMatches(const std::string& pattern, std::string_view path) {
  if (pattern.empty() || pattern == "*") return true;
  if (pattern.back() == '*') {
    return path.starts_with(std::string_view(pattern).substr(0, pattern.size() - 1));
  }
  return path == pattern;
}

http::response<http::string_body> JsonResponse(http::status status, const json::value& body) {
  http::response<http::string_body> res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = json::serialize(body);
  return res;
}

http::response<http::string_body> Error(http::status status, std::string_view message) {
  return JsonResponse(status, json::object{{"error", message}});
}

}  // namespace

std::vector<FaultRule> ParseFaults(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error("line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  const YAML::Node& list = root.IsMap() && root["faults"] ? root["faults"] : root;
  std::vector<FaultRule> rules;
  if (!list || list.IsNull()) return rules;
  if (!list.IsSequence()) throw std::runtime_error("faults must be a list of rules");
  for (const auto& n : list) {
    if (!n.IsMap()) throw std::runtime_error("a fault rule must be a mapping");
    FaultRule r;
    for (const auto& kv : n) {
      const auto key = kv.first.Scalar();
      const auto& v = kv.second;
      try {
        if (key == "route") {
          // "GET /path" or "/path"
          const auto s = v.Scalar();
          const auto space = s.find(' ');
          if (space == std::string::npos) {
            r.path = s;
          } else {
            r.method = s.substr(0, space);
            r.path = s.substr(space + 1);
          }
        } else if (key == "delay") {
          r.delay = DurationField(v, "delay");
        } else if (key == "delay_random") {
          r.delay_random = DurationField(v, "delay_random");
        } else if (key == "error_ratio") {
          r.error_ratio = v.as<double>();
        } else if (key == "error_status") {
          r.error_status = v.as<int>();
        } else if (key == "retry_after") {
          r.retry_after = v.Scalar();
        } else if (key == "action") {
          bool found = false;
          for (const auto& [name, action] : kActions) {
            if (v.Scalar() == name) {
              r.action = action;
              found = true;
            }
          }
          if (!found) throw std::runtime_error("unknown action '" + v.Scalar() + "'");
        } else if (key == "action_ratio") {
          r.action_ratio = v.as<double>();
        } else if (key == "slow_interval") {
          r.slow_interval = DurationField(v, "slow_interval");
        } else if (key == "stall_max") {
          r.stall_max = DurationField(v, "stall_max");
        } else if (key == "body_bytes") {
          r.body_bytes = v.as<std::size_t>();
        } else {
          throw std::runtime_error("unknown key '" + key + "'");
        }
      } catch (const YAML::Exception& e) {
        throw std::runtime_error("bad value for '" + key + "': " + e.msg);
      } catch (const std::runtime_error& e) {
        throw std::runtime_error("line " + std::to_string(kv.first.Mark().line + 1) + ": " +
                                 e.what());
      }
    }
    rules.push_back(std::move(r));
  }
  return rules;
}

// Keeps a session listed for Stop() exactly as long as its stream lives, even
// when the session's coroutine ends by an exception.
class SessionGuard {
 public:
  SessionGuard(std::list<beast::tcp_stream*>& list, beast::tcp_stream& stream)
      : list_(list), it_(list.insert(list.end(), &stream)) {}
  ~SessionGuard() { list_.erase(it_); }
  SessionGuard(const SessionGuard&) = delete;
  SessionGuard& operator=(const SessionGuard&) = delete;

 private:
  std::list<beast::tcp_stream*>& list_;
  std::list<beast::tcp_stream*>::iterator it_;
};

struct Testbed::State : std::enable_shared_from_this<Testbed::State> {
  State(asio::any_io_executor ex, Options opts)
      : executor(std::move(ex)),
        acceptor(executor),
        options(std::move(opts)),
        users(options.users) {}

  struct Decision {
    Duration delay{};
    bool error = false;
    int error_status = 500;
    Action action = Action::kNone;
    FaultRule rule;
  };
  struct Token {
    std::string user;
    Clock::time_point expires;
  };
  struct Agent {
    std::string owner;
    std::string name;
  };

  asio::any_io_executor executor;
  tcp::acceptor acceptor;
  Options options;
  bool stopped = false;
  std::list<beast::tcp_stream*> sessions;

  // Shared with test threads.
  mutable std::mutex mutex;
  std::vector<FaultRule> faults;
  StreamSpec stream_spec;
  std::deque<Record> records;
  std::deque<std::string> issued;
  std::uint64_t next_seq = 0;
  std::mt19937_64 rng{1};

  // Platform state; only the io thread touches it.
  std::map<std::string, std::string> users;
  std::map<std::string, Token> tokens;  // bearer tokens and session cookies
  std::map<std::string, Agent> agents;
  std::deque<Clock::time_point> logins;  // within the last minute, for --login-rate
  std::uint64_t logins_granted = 0;
  std::uint64_t llm_chunks = 0;  // token chunks written by the LLM endpoints
  // OTLP exports received at POST /v1/metrics, the last one kept whole.
  struct OtlpExport {
    std::string content_type, content_encoding, authorization, body;
  };
  std::uint64_t otlp_received = 0;
  OtlpExport otlp_last;
  // PUT /admin/otlp {"rejected": N, "message": "..."}: answer with this
  // partial_success instead of a full one.
  std::int64_t otlp_rejected = 0;
  std::string otlp_message;
  std::uint64_t next_id = 1;

  Decision Decide(std::string_view method, std::string_view path) {
    std::lock_guard lock(mutex);
    Decision d;
    for (const auto& r : faults) {
      if (!r.method.empty() && r.method != method) continue;
      if (!PathMatches(r.path, path)) continue;
      d.rule = r;
      d.delay = r.delay;
      if (r.delay_random > Duration::zero()) {
        std::uniform_int_distribution<Duration::rep> dist(0, r.delay_random.count() - 1);
        d.delay += Duration(dist(rng));
      }
      std::uniform_real_distribution<double> unit(0, 1);
      d.error = r.error_ratio > 0 && unit(rng) < r.error_ratio;
      d.error_status = r.error_status;
      if (r.action != Action::kNone && unit(rng) < r.action_ratio) d.action = r.action;
      break;
    }
    return d;
  }

  void AddRecord(Record r) {
    std::lock_guard lock(mutex);
    r.seq = next_seq++;
    records.push_back(std::move(r));
    while (records.size() > options.record_limit) records.pop_front();
  }

  // The session id in a "sid" cookie, if the request carries one.
  static std::optional<std::string> SessionCookie(const http::request<http::string_body>& req) {
    std::string_view cookies = req[http::field::cookie];
    while (!cookies.empty()) {
      const auto end = cookies.find(';');
      std::string_view pair = cookies.substr(0, end);
      cookies = end == std::string_view::npos ? "" : cookies.substr(end + 1);
      while (pair.starts_with(' ')) pair.remove_prefix(1);
      if (pair.starts_with("sid=")) return std::string(pair.substr(4));
    }
    return std::nullopt;
  }

  // The value of `access_token=` in the query, as browsers' WebSocket
  // clients (which cannot set headers) send a token.
  static std::optional<std::string> QueryToken(std::string_view target) {
    const auto q = target.find('?');
    if (q == std::string_view::npos) return std::nullopt;
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
      const auto end = query.find('&');
      const std::string_view pair = query.substr(0, end);
      query = end == std::string_view::npos ? "" : query.substr(end + 1);
      if (pair.starts_with("access_token=")) return std::string(pair.substr(13));
    }
    return std::nullopt;
  }

  // The user behind a bearer token, an API key, a session cookie or an
  // `access_token` in the query.
  std::optional<std::string> Authenticate(const http::request<http::string_body>& req) {
    const std::string_view auth = req[http::field::authorization];
    constexpr std::string_view kBearer = "Bearer ";
    std::string presented;
    if (auth.starts_with(kBearer)) {
      presented = std::string(auth.substr(kBearer.size()));
      if (auto key = options.api_keys.find(presented); key != options.api_keys.end()) {
        return key->second;
      }
    } else if (auto sid = SessionCookie(req)) {
      presented = std::move(*sid);
    } else if (auto token = QueryToken(req.target())) {
      presented = std::move(*token);
    } else {
      return std::nullopt;
    }
    auto it = tokens.find(presented);
    if (it == tokens.end()) return std::nullopt;
    if (Clock::now() >= it->second.expires) {
      tokens.erase(it);
      return std::nullopt;
    }
    return it->second.user;
  }

  std::string NewToken() {
    std::uniform_int_distribution<std::uint64_t> dist;
    std::lock_guard lock(mutex);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(dist(rng)),
                  static_cast<unsigned long long>(dist(rng)));
    issued.emplace_back(buf);
    if (issued.size() > 10000) issued.pop_front();
    return buf;
  }

  // Reads {"username": "...", "password": "..."}; nullopt if malformed.
  static std::optional<std::pair<std::string, std::string>> Credentials(const std::string& body) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const auto* u = v.as_object().if_contains("username");
    const auto* p = v.as_object().if_contains("password");
    if (u == nullptr || p == nullptr || !u->is_string() || !p->is_string()) return std::nullopt;
    if (u->as_string().empty() || p->as_string().empty()) return std::nullopt;
    return std::make_pair(std::string(u->as_string()), std::string(p->as_string()));
  }

  http::response<http::string_body> Admin(const http::request<http::string_body>& req,
                                          std::string_view path) {
    const auto m = req.method();
    if (path == "/admin/faults") {
      if (m == http::verb::get) {
        json::array out;
        std::lock_guard lock(mutex);
        for (const auto& r : faults) {
          out.push_back(json::object{{"route", (r.method.empty() ? "" : r.method + " ") + r.path},
                                     {"delay", config::FormatDuration(r.delay)},
                                     {"delay_random", config::FormatDuration(r.delay_random)},
                                     {"error_ratio", r.error_ratio},
                                     {"error_status", r.error_status},
                                     {"action", ActionName(r.action)},
                                     {"action_ratio", r.action_ratio}});
        }
        return JsonResponse(http::status::ok, out);
      }
      if (m == http::verb::put) {
        try {
          auto rules = ParseFaults(req.body());
          std::lock_guard lock(mutex);
          faults = std::move(rules);
          return JsonResponse(http::status::ok, json::object{{"rules", faults.size()}});
        } catch (const std::exception& e) {
          return Error(http::status::bad_request, e.what());
        }
      }
      if (m == http::verb::delete_) {
        std::lock_guard lock(mutex);
        faults.clear();
        return http::response<http::string_body>{http::status::no_content, 11};
      }
    }
    if (path == "/admin/stream" && m == http::verb::put) {
      try {
        auto spec = ParseStreamSpec(req.body());
        std::lock_guard lock(mutex);
        stream_spec = std::move(spec);
        return http::response<http::string_body>{http::status::no_content, 11};
      } catch (const std::exception& e) {
        return Error(http::status::bad_request, e.what());
      }
    }
    if (path == "/admin/tokens/expire" && m == http::verb::post) {
      // Every issued token and session stops working, as if they had all
      // expired: clients must log in again.
      tokens.clear();
      return http::response<http::string_body>{http::status::no_content, 11};
    }
    if (path == "/admin/state" && m == http::verb::get) {
      return JsonResponse(http::status::ok, json::object{{"logins", logins_granted},
                                                         {"tokens", tokens.size()},
                                                         {"agents", agents.size()},
                                                         {"llm_chunks", llm_chunks}});
    }
    if (path == "/admin/records") {
      if (m == http::verb::get) {
        json::array out;
        std::lock_guard lock(mutex);
        for (const auto& r : records) {
          out.push_back(json::object{{"seq", r.seq},
                                     {"method", r.method},
                                     {"path", r.path},
                                     {"status", r.status},
                                     {"action", ActionName(r.action)},
                                     {"injected_ns", r.injected.count()},
                                     {"actual_ns", r.actual.count()}});
          if (!r.token_written.empty() || r.injected_first_token > Duration::zero()) {
            auto& o = out.back().as_object();
            json::array gaps;
            json::array written;
            for (auto d : r.injected_gaps) gaps.push_back(d.count());
            for (auto d : r.token_written) written.push_back(d.count());
            o["injected_first_token_ns"] = r.injected_first_token.count();
            o["injected_gaps_ns"] = std::move(gaps);
            o["token_written_ns"] = std::move(written);
          }
        }
        return JsonResponse(http::status::ok, out);
      }
      if (m == http::verb::delete_) {
        std::lock_guard lock(mutex);
        records.clear();
        return http::response<http::string_body>{http::status::no_content, 11};
      }
    }
    if (path == "/admin/otlp" && m == http::verb::put) {
      boost::system::error_code ec;
      const auto v = json::parse(req.body(), ec);
      if (ec || !v.is_object()) return Error(http::status::bad_request, "want a JSON object");
      std::lock_guard lock(mutex);
      const auto* r = v.as_object().if_contains("rejected");
      const auto* msg = v.as_object().if_contains("message");
      otlp_rejected = r != nullptr && r->is_int64() ? r->as_int64() : 0;
      otlp_message = msg != nullptr && msg->is_string() ? std::string(msg->as_string()) : "";
      return http::response<http::string_body>{http::status::no_content, 11};
    }
    if (path == "/admin/otlp" && m == http::verb::get) {
      std::lock_guard lock(mutex);
      return JsonResponse(http::status::ok,
                          json::object{{"received", otlp_received},
                                       {"content_type", otlp_last.content_type},
                                       {"content_encoding", otlp_last.content_encoding},
                                       {"authorization", otlp_last.authorization},
                                       {"size", otlp_last.body.size()}});
    }
    if (path == "/admin/otlp/last" && m == http::verb::get) {
      std::lock_guard lock(mutex);
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "application/octet-stream");
      res.body() = otlp_last.body;
      return res;
    }
    return Error(http::status::not_found, "no such admin endpoint");
  }

  http::response<http::string_body> Api(const http::request<http::string_body>& req,
                                        std::string_view path) {
    const auto m = req.method();
    if (path == "/health") {
      if (m != http::verb::get && m != http::verb::head) {
        return Error(http::status::method_not_allowed, "method not allowed");
      }
      return JsonResponse(http::status::ok, json::object{{"status", "ok"}});
    }
    if (path == "/echo") {
      // What the client sent, in the body and as X-Echo-* headers: for
      // checking what a prober puts on the wire (and that it never leaks
      // what comes back).
      json::object headers;
      http::response<http::string_body> res{http::status::ok, 11};
      for (const auto& f : req) {
        headers[std::string(f.name_string())] = std::string(f.value());
        res.insert("X-Echo-" + std::string(f.name_string()), f.value());
      }
      res.set(http::field::content_type, "application/json");
      res.body() = json::serialize(json::object{{"method", std::string(req.method_string())},
                                                {"target", std::string(req.target())},
                                                {"headers", std::move(headers)},
                                                {"body", req.body()}});
      return res;
    }
    if (path == "/v1/metrics") {
      // An OTLP/HTTP metrics receiver: keeps what arrives, answers with an
      // empty ExportMetricsServiceResponse (full success).
      if (m != http::verb::post) return Error(http::status::method_not_allowed, "POST only");
      const bool json = req[http::field::content_type] == "application/json";
      {
        std::lock_guard lock(mutex);
        ++otlp_received;
        otlp_last = {std::string(req[http::field::content_type]),
                     std::string(req[http::field::content_encoding]),
                     std::string(req[http::field::authorization]), req.body()};
      }
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, json ? "application/json" : "application/x-protobuf");
      std::lock_guard lock(mutex);
      if (otlp_rejected == 0 && otlp_message.empty()) {
        res.body() = json ? "{}" : "";
      } else if (json) {
        res.body() = json::serialize(json::object{
            {"partialSuccess", json::object{{"rejectedDataPoints", std::to_string(otlp_rejected)},
                                            {"errorMessage", otlp_message}}}});
      } else {
        // partial_success (1) { rejected_data_points (1, varint), error_message (2) }
        std::string inner;
        auto varint = [](std::string& out, std::uint64_t v) {
          for (; v >= 0x80; v >>= 7) out.push_back(static_cast<char>((v & 0x7f) | 0x80));
          out.push_back(static_cast<char>(v));
        };
        inner.push_back('\x08');
        varint(inner, static_cast<std::uint64_t>(otlp_rejected));
        inner.push_back('\x12');
        varint(inner, otlp_message.size());
        inner += otlp_message;
        res.body().push_back('\x0a');
        varint(res.body(), inner.size());
        res.body() += inner;
      }
      return res;
    }
    if (path.starts_with("/status/")) {
      // /status/CODE answers CODE with an empty body.
      int code = 0;
      const auto digits = std::string_view(path).substr(8);
      std::from_chars(digits.data(), digits.data() + digits.size(), code);
      if (code < 200 || code > 599) return Error(http::status::bad_request, "use /status/200..599");
      return http::response<http::string_body>{static_cast<http::status>(code), 11};
    }
    if (path == "/redirect" || path == "/loop") {
      // /redirect?to=URL answers 302 to URL; /loop redirects to itself.
      std::string location = "/loop";
      if (path == "/redirect") {
        const std::string_view target = req.target();
        const auto q = target.find("?to=");
        if (q == std::string_view::npos) return Error(http::status::bad_request, "needs ?to=");
        location = std::string(target.substr(q + 4));
      }
      http::response<http::string_body> res{http::status::found, 11};
      res.set(http::field::location, location);
      return res;
    }
    if (path == kAgentChatPath || path == kAgentWebSocketPath) {
      // Here only without a valid login token (or without an upgrade).
      if (Authenticate(req)) {
        return path == kAgentWebSocketPath
                   ? Error(http::status::bad_request, "expected a WebSocket upgrade")
                   : Error(http::status::service_unavailable, "the stream could not start");
      }
      auto res = Error(http::status::unauthorized, "missing, invalid or expired token");
      res.set(http::field::www_authenticate, "Bearer");
      return res;
    }
    if (path == "/auth/me") {
      auto user = Authenticate(req);
      if (!user) return Error(http::status::unauthorized, "not logged in");
      return JsonResponse(http::status::ok, json::object{{"username", *user}});
    }
    if (path == "/auth/register" || path == "/auth/login" || path == "/auth/session") {
      if (m != http::verb::post) return Error(http::status::method_not_allowed, "use POST");
      if (path != "/auth/register" && options.logins_per_minute > 0) {
        const auto now = Clock::now();
        while (!logins.empty() && now - logins.front() >= std::chrono::minutes(1)) {
          logins.pop_front();
        }
        if (static_cast<int>(logins.size()) >= options.logins_per_minute) {
          const auto wait = std::chrono::ceil<std::chrono::seconds>(logins.front() +
                                                                    std::chrono::minutes(1) - now);
          auto res = Error(http::status::too_many_requests, "too many logins");
          res.set(http::field::retry_after, std::to_string(std::max<long>(1, wait.count())));
          return res;
        }
        logins.push_back(now);
      }
      auto creds = Credentials(req.body());
      if (!creds) {
        return Error(http::status::unprocessable_entity,
                     "body must be JSON with non-empty 'username' and 'password'");
      }
      if (path == "/auth/register") {
        if (users.count(creds->first) != 0) return Error(http::status::conflict, "user exists");
        users[creds->first] = creds->second;
        return JsonResponse(http::status::created, json::object{{"username", creds->first}});
      }
      auto it = users.find(creds->first);
      if (it == users.end() || it->second != creds->second) {
        return Error(http::status::unauthorized, "invalid credentials");
      }
      const auto token = NewToken();
      tokens[token] = Token{creds->first, Clock::now() + options.token_ttl};
      ++logins_granted;
      const auto ttl = std::chrono::duration_cast<std::chrono::seconds>(options.token_ttl);
      if (path == "/auth/session") {
        // A browser-style login: a session cookie, then a redirect.
        http::response<http::string_body> res{http::status::see_other, 11};
        res.set(http::field::location, "/auth/me");
        res.set(http::field::set_cookie, "sid=" + token +
                                             "; Path=/; Max-Age=" + std::to_string(ttl.count()) +
                                             "; HttpOnly; SameSite=Lax");
        return res;
      }
      return JsonResponse(http::status::ok, json::object{{"access_token", token},
                                                         {"token_type", "bearer"},
                                                         {"expires_in", ttl.count()}});
    }
    if (path == "/rag/query") {
      if (m != http::verb::post) return Error(http::status::method_not_allowed, "use POST");
      if (!Authenticate(req)) return Error(http::status::unauthorized, "missing or invalid token");
      boost::system::error_code ec;
      auto v = json::parse(req.body(), ec);
      const json::value* query =
          (!ec && v.is_object()) ? v.as_object().if_contains("query") : nullptr;
      if (query == nullptr || !query->is_string() || query->as_string().empty()) {
        return Error(http::status::unprocessable_entity, "body must be JSON with a 'query'");
      }
      return JsonResponse(
          http::status::ok,
          json::object{{"answer", "Refunds are accepted within 30 days."},
                       {"sources", json::array{json::object{{"id", "doc-7"}, {"score", 0.92}}}}});
    }
    if (path == "/agents" || path.starts_with("/agents/")) {
      auto user = Authenticate(req);
      if (!user) {
        auto res = Error(http::status::unauthorized, "missing, invalid or expired token");
        res.set(http::field::www_authenticate, "Bearer");
        return res;
      }
      if (path == "/agents") {
        if (m == http::verb::get) {
          json::array list;
          for (const auto& [id, a] : agents) {
            if (a.owner == *user) list.push_back(json::object{{"id", id}, {"name", a.name}});
          }
          return JsonResponse(http::status::ok, json::object{{"agents", list}});
        }
        if (m == http::verb::post) {
          boost::system::error_code ec;
          auto v = json::parse(req.body(), ec);
          const json::value* name =
              (!ec && v.is_object()) ? v.as_object().if_contains("name") : nullptr;
          if (name == nullptr || !name->is_string() || name->as_string().empty()) {
            return Error(http::status::unprocessable_entity, "body must be JSON with a 'name'");
          }
          const std::string id = "agent-" + std::to_string(next_id++);
          agents[id] = Agent{*user, std::string(name->as_string())};
          return JsonResponse(http::status::created, json::object{{"id", id}, {"name", *name}});
        }
        return Error(http::status::method_not_allowed, "use GET or POST");
      }
      const std::string id(path.substr(std::string_view("/agents/").size()));
      auto it = agents.find(id);
      if (it == agents.end() || it->second.owner != *user) {
        return Error(http::status::not_found, "no such agent");
      }
      if (m == http::verb::get) {
        return JsonResponse(http::status::ok, json::object{{"id", id}, {"name", it->second.name}});
      }
      if (m == http::verb::delete_) {
        agents.erase(it);
        return http::response<http::string_body>{http::status::no_content, 11};
      }
      return Error(http::status::method_not_allowed, "use GET or DELETE");
    }
    return Error(http::status::not_found, "not found");
  }

  static void Reset(beast::tcp_stream& stream) {
    boost::system::error_code ignored;
    stream.socket().set_option(asio::socket_base::linger(true, 0), ignored);
    stream.socket().close(ignored);
  }

  static std::string RawHead(int status, std::string_view extra) {
    return "HTTP/1.1 " + std::to_string(status) + " OK\r\nContent-Type: application/json\r\n" +
           std::string(extra) + "\r\n";
  }

  // Answers an LLM endpoint: the script's events written one group at a
  // time (events without a wait in between go out together), each token's
  // write time recorded. Returns whether the connection stays open.
  asio::awaitable<bool> Llm(beast::tcp_stream& stream, const http::request<http::string_body>& req,
                            const std::string& path, LlmDialect dialect,
                            Clock::time_point read_done, Duration fault_delay) {
    LlmScript script;
    StreamSpec spec;
    {
      std::lock_guard lock(mutex);
      spec = stream_spec;
      // The platform's own endpoint is behind its login, checked before.
      script =
          ScriptLlm(dialect, req, spec, path == kAgentChatPath ? "" : options.llm_api_key, rng);
    }
    Record rec;
    rec.method = std::string(req.method_string());
    rec.path = path;
    rec.injected = spec.ttfb + fault_delay;
    asio::steady_timer timer(executor, read_done + rec.injected);
    co_await timer.async_wait(kTuple);
    stream.expires_never();
    if (script.whole) {
      auto& res = *script.whole;
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      rec.status = static_cast<int>(res.result_int());
      rec.actual = Clock::now() - read_done;
      AddRecord(rec);
      auto [wec, w] = co_await http::async_write(stream, res, kTuple);
      co_return !wec && res.keep_alive();
    }
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: " + script.content_type +
                       "\r\nCache-Control: no-cache\r\n";
    head += spec.chunked ? "Transfer-Encoding: chunked\r\n\r\n" : "Connection: close\r\n\r\n";
    rec.status = 200;
    rec.actual = Clock::now() - read_done;
    auto [hec, hw] = co_await asio::async_write(stream.socket(), asio::buffer(head), kTuple);
    if (hec) co_return false;
    auto target = Clock::now();
    std::string pending;
    int pending_tokens = 0;
    auto flush = [&]() -> asio::awaitable<bool> {
      if (pending.empty()) co_return true;
      std::string wire;
      if (spec.chunked) {
        char size[20];
        std::snprintf(size, sizeof size, "%zx\r\n", pending.size());
        wire = size + pending + "\r\n";
      } else {
        wire = std::move(pending);
      }
      pending.clear();
      const auto at = Clock::now() - read_done;
      auto [ec, n] = co_await asio::async_write(stream.socket(), asio::buffer(wire), kTuple);
      llm_chunks += static_cast<std::uint64_t>(pending_tokens);
      for (; pending_tokens > 0; --pending_tokens) rec.token_written.push_back(at);
      co_return !ec;
    };
    bool ok = true;
    bool first_token = true;
    for (const auto& event : script.events) {
      if (stopped) break;
      if (event.wait > Duration::zero()) {
        if (!(ok = co_await flush())) break;
        target += event.wait;
        timer.expires_at(target);
        co_await timer.async_wait(kTuple);
      }
      if (event.token) {
        if (first_token) {
          rec.injected_first_token = event.wait;
        } else {
          rec.injected_gaps.push_back(event.wait);
        }
        first_token = false;
        ++pending_tokens;
      }
      pending += event.bytes;
    }
    if (ok) ok = co_await flush();
    AddRecord(rec);
    if (ok && spec.hold > Duration::zero() && !stopped) {
      // A server that keeps the body open after its end marker: a client
      // that waits for the end of the body waits this long.
      timer.expires_after(spec.hold);
      co_await timer.async_wait(kTuple);
    }
    if (!ok || script.cut || !spec.chunked) co_return false;
    auto [eec, ew] =
        co_await asio::async_write(stream.socket(), asio::buffer("0\r\n\r\n", 5), kTuple);
    co_return !eec && req.keep_alive();
  }

  // GET /ws/echo as a WebSocket: every text or binary message comes back as
  // it was, after the fault's delay. `?push=1` sends a heartbeat message
  // before each reply (a client must skip it). Faults: stall (upgrade, then
  // never reply), reset_mid_body (reset on the first message), ws_close
  // (close frame 1011 instead of the first reply).
  asio::awaitable<void> WebSocketEcho(beast::tcp_stream& stream,
                                      const http::request<http::string_body>& req,
                                      std::string_view target, const std::string& path,
                                      const Decision& decision) {
    namespace websocket = beast::websocket;
    stream.expires_never();
    websocket::stream<beast::tcp_stream&> ws(stream);
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    auto [aec] = co_await ws.async_accept(req, kTuple);
    Record rec;
    rec.method = std::string(req.method_string());
    rec.path = path;
    rec.action = decision.action;
    rec.status = aec ? 0 : 101;
    AddRecord(rec);
    if (aec) co_return;
    const bool push = target.find("push=1") != std::string_view::npos;
    beast::flat_buffer buffer;
    while (!stopped) {
      buffer.clear();
      auto [rec_ec, n] = co_await ws.async_read(buffer, kTuple);
      if (rec_ec) co_return;
      if (decision.action == Action::kStall) continue;
      if (decision.action == Action::kResetMidBody) {
        Reset(stream);
        co_return;
      }
      if (decision.action == Action::kWsClose) {
        co_await ws.async_close(
            websocket::close_reason(websocket::close_code::internal_error, "injected close"),
            kTuple);
        co_return;
      }
      if (decision.delay > Duration::zero()) {
        asio::steady_timer timer(executor, decision.delay);
        co_await timer.async_wait(kTuple);
      }
      if (push) {
        ws.text(true);
        auto [pec, pn] = co_await ws.async_write(
            asio::buffer(std::string_view("{\"type\":\"heartbeat\"}")), kTuple);
        if (pec) co_return;
      }
      ws.text(ws.got_text());
      auto [wec, w] = co_await ws.async_write(buffer.data(), kTuple);
      if (wec) co_return;
    }
  }

  asio::awaitable<void> Accept() {
    auto self = shared_from_this();
    while (!stopped) {
      auto [ec, socket] = co_await acceptor.async_accept(kTuple);
      if (stopped || ec == asio::error::operation_aborted) break;
      if (ec) continue;
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      asio::co_spawn(executor, Session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> Session(tcp::socket socket) {
    auto self = shared_from_this();
    beast::tcp_stream stream(std::move(socket));
    const SessionGuard registered(sessions, stream);
    beast::flat_buffer buffer;
    bool open = true;
    while (open && !stopped) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(1 << 20);
      stream.expires_after(std::chrono::seconds(60));
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
      if (ec) break;
      const auto read_done = Clock::now();
      auto req = parser.release();
      const std::string target(req.target());
      const std::string path = target.substr(0, target.find('?'));
      if (path.starts_with("/admin/")) {
        auto res = Admin(req, path);
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        auto [wec, w] = co_await http::async_write(stream, res, kTuple);
        open = !wec && res.keep_alive();
        continue;
      }
      const auto decision = Decide(req.method_string(), path);
      // The platform's chat and WebSocket are behind its login: without a
      // valid token they fall through to Api(), which answers 401.
      const bool agent = path == kAgentChatPath || path == kAgentWebSocketPath;
      const bool authorized = !agent || Authenticate(req).has_value();
      if ((path == "/ws/echo" || path == kAgentWebSocketPath) && authorized &&
          beast::websocket::is_upgrade(req) && !decision.error &&
          (decision.action == Action::kNone || decision.action == Action::kStall ||
           decision.action == Action::kResetMidBody || decision.action == Action::kWsClose)) {
        co_await WebSocketEcho(stream, req, target, path, decision);
        break;
      }
      if (auto dialect = LlmEndpoint(path);
          dialect && authorized && !decision.error && decision.action == Action::kNone) {
        open = co_await Llm(stream, req, path, *dialect, read_done, decision.delay);
        continue;
      }
      // An injected error replaces the work, as a failing server's would:
      // a DELETE answered 503 deletes nothing.
      auto res =
          decision.error ? Error(static_cast<http::status>(decision.error_status), "injected error")
          : decision.action == Action::kEmptyJson ? JsonResponse(http::status::ok, json::object{})
                                                  : Api(req, path);
      if (decision.error && !decision.rule.retry_after.empty()) {
        res.set(http::field::retry_after, decision.rule.retry_after);
      }
      if (decision.rule.body_bytes > res.body().size()) {
        res.body().resize(decision.rule.body_bytes, ' ');
      }
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      // RFC 9110: a 304 may state the length of the representation it
      // stands for; a client must not wait for that body.
      if (res.result() == http::status::not_modified) res.set(http::field::content_length, "42");

      if (decision.delay > Duration::zero()) {
        asio::steady_timer timer(executor, decision.delay);
        co_await timer.async_wait(kTuple);
      }
      Record rec;
      rec.method = std::string(req.method_string());
      rec.path = path;
      rec.action = decision.action;
      rec.injected = decision.delay;
      rec.status = decision.action == Action::kNone ? static_cast<int>(res.result_int()) : 0;
      stream.expires_never();
      switch (decision.action) {
        case Action::kNone:
        case Action::kWsClose:  // not a WebSocket: answered as usual
        case Action::kEmptyJson: {
          rec.actual = Clock::now() - read_done;
          AddRecord(rec);
          auto [wec, w] = co_await http::async_write(stream, res, kTuple);
          open = !wec && res.keep_alive();
          break;
        }
        case Action::kResetBeforeHeaders:
          rec.actual = Clock::now() - read_done;
          AddRecord(rec);
          Reset(stream);
          open = false;
          break;
        case Action::kGarbageStatus:
        case Action::kBadChunked:
        case Action::kHugeHeaders:
        case Action::kResetMidHeaders:
        case Action::kResetMidBody: {
          // Written as raw bytes: a well-behaved serializer refuses to
          // produce any of these (Beast caps a header field at 64 KiB).
          std::string raw;
          if (decision.action == Action::kGarbageStatus) {
            raw = "HTTP/1.1 two hundred\r\n\r\n";
          } else if (decision.action == Action::kHugeHeaders) {
            raw = RawHead(200, "X-Huge: " + std::string(std::size_t{128} * 1024, 'h') +
                                   "\r\nContent-Length: 2\r\n") +
                  "{}";
          } else if (decision.action == Action::kResetMidHeaders) {
            raw = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Partial: ";
          } else if (decision.action == Action::kBadChunked) {
            raw = RawHead(200, "Transfer-Encoding: chunked\r\n") + "zz\r\nnot a chunk\r\n0\r\n\r\n";
          } else {
            const std::size_t size = std::max<std::size_t>(res.body().size(), 1024);
            raw = RawHead(200, "Content-Length: " + std::to_string(size) + "\r\n") +
                  std::string(size / 2, 'x');
          }
          rec.actual = Clock::now() - read_done;
          AddRecord(rec);
          co_await asio::async_write(stream.socket(), asio::buffer(raw), kTuple);
          if (decision.action == Action::kResetMidBody ||
              decision.action == Action::kResetMidHeaders) {
            Reset(stream);
          } else {
            boost::system::error_code ignored;
            stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
            stream.socket().close(ignored);
          }
          open = false;
          break;
        }
        case Action::kStall: {
          rec.actual = Clock::now() - read_done;
          AddRecord(rec);
          // Silent until the client gives up or stall_max passes.
          stream.expires_after(decision.rule.stall_max);
          std::array<char, 512> sink{};
          for (;;) {
            auto [rec2, got] = co_await stream.async_read_some(asio::buffer(sink), kTuple);
            if (rec2) break;
          }
          open = false;
          break;
        }
        case Action::kSlowBody: {
          const std::size_t size = std::max<std::size_t>(res.body().size(), 16);
          std::string head = RawHead(200, "Content-Length: " + std::to_string(size) + "\r\n");
          rec.actual = Clock::now() - read_done;
          AddRecord(rec);
          auto [hec, hw] = co_await asio::async_write(stream.socket(), asio::buffer(head), kTuple);
          for (std::size_t i = 0; !hec && i < size && !stopped; ++i) {
            asio::steady_timer timer(executor, decision.rule.slow_interval);
            co_await timer.async_wait(kTuple);
            auto [bec, bw] =
                co_await asio::async_write(stream.socket(), asio::buffer("x", 1), kTuple);
            if (bec) break;
          }
          open = false;
          break;
        }
      }
    }
    boost::system::error_code ignored;
    stream.socket().close(ignored);
  }
};

Testbed::Testbed(asio::any_io_executor executor, Options options)
    : state_(std::make_shared<State>(std::move(executor), std::move(options))) {
  const auto& listen = state_->options.listen;
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("--listen needs host:port");
  tcp::endpoint endpoint(asio::ip::make_address(listen.substr(0, colon)),
                         static_cast<std::uint16_t>(std::stoi(listen.substr(colon + 1))));
  auto& a = state_->acceptor;
  a.open(endpoint.protocol());
  a.set_option(asio::socket_base::reuse_address(true));
  a.bind(endpoint);
  a.listen(asio::socket_base::max_listen_connections);
}

Testbed::~Testbed() { Stop(); }

void Testbed::Start() { asio::co_spawn(state_->executor, state_->Accept(), asio::detached); }

void Testbed::Stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  for (auto* s : state_->sessions) s->socket().close(ignored);
}

std::uint16_t Testbed::Port() const { return state_->acceptor.local_endpoint().port(); }

void Testbed::SetStream(StreamSpec spec) {
  std::lock_guard lock(state_->mutex);
  state_->stream_spec = std::move(spec);
}

void Testbed::SetFaults(std::vector<FaultRule> rules) {
  std::lock_guard lock(state_->mutex);
  state_->faults = std::move(rules);
}

std::vector<Record> Testbed::Records() const {
  std::lock_guard lock(state_->mutex);
  return {state_->records.begin(), state_->records.end()};
}

void Testbed::ClearRecords() {
  std::lock_guard lock(state_->mutex);
  state_->records.clear();
}

std::vector<std::string> Testbed::IssuedTokens() const {
  std::lock_guard lock(state_->mutex);
  return {state_->issued.begin(), state_->issued.end()};
}

}  // namespace sloprobe::testbed
