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
};

struct FaultRule {
  std::string method;       // empty: any
  std::string path;         // exact path, a prefix ending in '*', or "*"
  Duration delay{};         // before the response starts
  Duration delay_random{};  // plus a uniform random extra in [0, delay_random)
  double error_ratio = 0;   // fraction of requests answered with error_status
  int error_status = 500;
  Action action = Action::kNone;
  double action_ratio = 1;  // fraction of matching requests that get the action
  Duration slow_interval = std::chrono::seconds(1);
  Duration stall_max = std::chrono::seconds(60);
  std::size_t body_bytes = 0;  // pad the body to this size (0: leave it)
};

// Parses a list of rules from YAML or JSON text; throws std::runtime_error
// with the line of the problem.
std::vector<FaultRule> ParseFaults(const std::string& text);

struct Record {
  std::uint64_t seq = 0;
  std::string method;
  std::string path;
  int status = 0;  // 0 when the action sent no status
  Action action = Action::kNone;
  Duration injected{};  // the delay chosen for this request
  Duration actual{};    // request fully read -> first response byte written
};

struct Options {
  std::string listen = "127.0.0.1:0";
  std::map<std::string, std::string> users{{"probe", "probe-password"}};
  Duration token_ttl = std::chrono::minutes(10);
  int logins_per_minute = 0;  // 0: no limit
  // Static bearer tokens accepted as the named user, like a platform's API
  // keys: token -> user.
  std::map<std::string, std::string> api_keys;
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
