#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

// A fake AI-agent platform for tests, benchmarks and the demo: health, auth
// with bearer tokens, agents CRUD, and fault injection that can be changed
// while it runs. It records, per request, the delay it injected and the time
// it actually took to start answering, as ground truth for timing accuracy.
namespace sloprobe::testbed {

using Duration = std::chrono::nanoseconds;

// What to do to matching requests instead of (or on top of) answering well.
enum class Action {
  kNone,
  kResetBeforeHeaders,  // TCP RST before any response byte
  kResetMidBody,        // headers and half the body, then RST
  kStall,               // say nothing until the client leaves (or stall_max)
  kSlowBody,            // headers, then one body byte per slow_interval
  kGarbageStatus,       // a status line that is not HTTP
  kHugeHeaders,         // a 128 KiB header
  kBadChunked,          // invalid chunked encoding
  kResetMidHeaders,     // the status line and part of the headers, then RST
  kEmptyJson,           // 200 with `{}` instead of the route's answer (a login without a token)
  kWsClose,             // WebSocket: a close frame (1011) instead of the first reply
};

struct FaultRule {
  std::string method;       // empty: any
  std::string path;         // exact path, a prefix ending in '*', or "*"
  Duration delay{};         // before the response starts
  Duration delay_random{};  // plus a uniform random extra in [0, delay_random)
  double error_ratio = 0;   // fraction of requests answered with error_status
  int error_status = 500;
  std::string retry_after;  // sent as Retry-After with injected errors, if set
  Action action = Action::kNone;
  double action_ratio = 1;  // fraction of matching requests that get the action
  Duration slow_interval = std::chrono::seconds(1);
  Duration stall_max = std::chrono::seconds(60);
  std::size_t body_bytes = 0;  // pad the body to this size (0: leave it)
};

// Parses a list of rules from YAML or JSON text; throws std::runtime_error
// with the line of the problem.
std::vector<FaultRule> ParseFaults(const std::string& text);

// How the fake LLM endpoints (/v1/chat/completions, /v1/messages,
// /api/chat) stream. Changeable while the testbed runs.
struct StreamSpec {
  Duration ttfb{};                               // request read -> response headers
  Duration first_token{};                        // headers -> first token chunk (prefill)
  Duration gap = std::chrono::milliseconds(10);  // between token chunks
  Duration gap_random{};                         // plus a uniform random extra in [0, gap_random)
  int chunks = 8;  // token chunks (fewer when max_tokens asks for less)
  int tokens_per_chunk = 1;
  bool role_chunk = true;          // OpenAI: a role-only chunk right after the headers
  bool usage = true;               // usage fields (OpenAI: only when include_usage asks)
  int ping_every = 0;              // Anthropic: a ping event after every N token chunks
  bool comments = false;           // an SSE comment line before every event
  std::string line_ending = "\n";  // "\n", "\r\n" or "\r"
  int error_after = -1;            // an error event after N token chunks; then the body ends
  int truncate_after = -1;         // connection closed after N token chunks, no end marker
  int malformed_after = -1;        // an event that is not JSON after N token chunks
  bool no_tokens = false;          // empty deltas only, then the end marker
  bool chunked = true;             // chunked encoding; false: the body ends with the connection
  Duration hold{};                 // after the end marker, wait this long before ending the body
};

// Parses a StreamSpec from YAML or JSON text (keys as above, durations as
// "20ms"); throws std::runtime_error naming the line of the problem.
StreamSpec ParseStreamSpec(const std::string& text);

struct Record {
  std::uint64_t seq = 0;
  std::string method;
  std::string path;
  int status = 0;  // 0 when the action sent no status
  Action action = Action::kNone;
  Duration injected{};  // the delay chosen for this request
  Duration actual{};    // request fully read -> first response byte written
  // LLM streams: the waits injected before the first token chunk and before
  // each later one, and when each token chunk was handed to the socket (from
  // the request fully read). Taken before the write, so that a client can
  // never read a chunk "before" it was written: its time from sending the
  // request to reading the chunk is at least this, by causality alone.
  Duration injected_first_token{};
  std::vector<Duration> injected_gaps;
  std::vector<Duration> token_written;
};

struct Options {
  std::string listen = "127.0.0.1:0";
  std::map<std::string, std::string> users{{"probe", "probe-password"}};
  Duration token_ttl = std::chrono::minutes(10);
  int logins_per_minute = 0;  // 0: no limit
  // Static bearer tokens accepted as the named user, like a platform's API
  // keys: token -> user.
  std::map<std::string, std::string> api_keys;
  // The key the LLM endpoints require (Bearer, or x-api-key for /v1/messages);
  // empty: none.
  std::string llm_api_key;
  std::size_t record_limit = 100000;
};

class Testbed {
 public:
  // Binds at once; throws boost::system::system_error if it cannot.
  Testbed(boost::asio::any_io_executor executor, Options options);
  ~Testbed();

  void Start();
  void Stop();
  std::uint16_t Port() const;

  // Thread-safe: tests call these from their own thread.
  void SetFaults(std::vector<FaultRule> rules);
  void SetStream(StreamSpec spec);
  std::vector<Record> Records() const;
  void ClearRecords();
  // Every bearer token and session id issued so far (at most the last
  // 10000), for tests that check credentials never leak.
  std::vector<std::string> IssuedTokens() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace sloprobe::testbed
