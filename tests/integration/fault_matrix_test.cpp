// Everything a broken platform can do to a probe, in one table: each fault
// fails the run with its documented reason (docs/metrics.md, "Failure
// reasons") and a detail that says what happened; then all of them at once
// against the daemon for 10,000 runs, which keeps serving /metrics and
// holds its file descriptors and memory flat.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "tests/integration/harness.hpp"
#include "tests/integration/tls_server.hpp"

namespace sloprobe::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using probes::Reason;
using Families = std::vector<prometheus::MetricFamily>;

// A listener whose accept queue is full and never drained: the kernel drops
// further SYNs, so a connect hangs until the client gives up.
class Blackhole {
 public:
  Blackhole() : acceptor_(io_), filler_(io_) {
    acceptor_.open(asio::ip::tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen(0);
    filler_.connect(acceptor_.local_endpoint());  // takes the one queue slot
  }
  std::uint16_t Port() const { return acceptor_.local_endpoint().port(); }

 private:
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::socket filler_;
};

// Accepts TCP connections and never says a word (a TLS handshake stalls).
class Mute {
 public:
  Mute() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Mute() {
    asio::post(io_, [this] { io_.stop(); });
    thread_.join();
  }
  std::uint16_t Port() const { return acceptor_.local_endpoint().port(); }

 private:
  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket s) {
      if (ec) return;
      held_.push_back(std::move(s));
      if (held_.size() > 8) held_.erase(held_.begin());
      Accept();
    });
  }
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::vector<asio::ip::tcp::socket> held_;
  std::thread thread_;
};

testbed::Options QuietBed() {
  testbed::Options o;
  o.record_limit = 64;  // the 10,000-run test measures this process's memory
  return o;
}

// The servers every fault needs. LLM stream faults each get a testbed of
// their own, since the stream shape is per testbed.
struct Platform {
  Platform() {
    bed.SetFaults(R"(
- {route: /fault/garbage_status, action: garbage_status}
- {route: /fault/huge_headers, action: huge_headers}
- {route: /fault/reset_mid_headers, action: reset_mid_headers}
- {route: /fault/reset_mid_body, action: reset_mid_body}
- {route: /fault/bad_chunked, action: bad_chunked}
- {route: /fault/big_body, body_bytes: 100000}
- {route: /fault/trickle, action: slow_body, slow_interval: 1s}
- {route: "POST /auth/login", action: empty_json}
)");
    auto stream = [](const std::string& yaml) {
      auto s = std::make_unique<TestbedServer>(QuietBed());
      s->Bed().SetStream(testbed::ParseStreamSpec(yaml));
      return s;
    };
    sse_truncated = stream("{chunks: 5, gap: 1ms, truncate_after: 2}");
    sse_malformed = stream("{chunks: 5, gap: 1ms, malformed_after: 1}");
    sse_error = stream("{chunks: 5, gap: 1ms, error_after: 1}");
    sse_no_tokens = stream("{chunks: 5, gap: 1ms, no_tokens: true}");
    sse_silent = stream("{chunks: 5, first_token: 1s}");
  }

  TestbedServer bed{QuietBed()};
  TempDir dir;
  TempDir expired_dir;
  TlsServer tls{dir};
  TlsServer expired{expired_dir, true};
  Blackhole blackhole;
  Mute mute;
  std::unique_ptr<TestbedServer> sse_truncated, sse_malformed, sse_error, sse_no_tokens, sse_silent;
};

struct Fault {
  std::string name;
  std::string yaml;  // the probe without its name
  Reason reason;
  std::string detail;  // a fragment of the failure detail
};

std::string Http(const std::string& url, const std::string& extra = "") {
  return "type: http\nrequest: {url: \"" + url + "\"" + extra + "}\n";
}

std::string Llm(const TestbedServer& bed) {
  return "type: llm_stream\napi: openai\nurl: \"" + bed.Url("/v1/chat/completions") +
         "\"\nmodel: m\nprompt: hi\n";
}

std::vector<Fault> Faults(const Platform& p) {
  const auto& bed = p.bed;
  const std::string tls_url = "https://127.0.0.1:" + std::to_string(p.tls.Port()) + "/";
  return {
      {"refused", Http("http://127.0.0.1:1/"), Reason::kConnect, "Connection refused"},
      {"unresolvable", Http("http://no-such-host.invalid/"), Reason::kDns, ""},
      {"connect_timeout", Http("http://127.0.0.1:" + std::to_string(p.blackhole.Port()) + "/"),
       Reason::kTimeout, "timed out connecting"},
      {"tls_self_signed", Http(tls_url), Reason::kTls, "self-signed certificate"},
      {"tls_expired",
       Http("https://127.0.0.1:" + std::to_string(p.expired.Port()) + "/",
            ", tls: {ca_file: \"" + p.expired.CertFile() + "\"}"),
       Reason::kTls, "certificate has expired"},
      {"tls_wrong_host",
       Http(tls_url, ", tls: {ca_file: \"" + p.tls.CertFile() + "\", server_name: other.test}"),
       Reason::kTls, "certificate verification failed"},
      {"tls_handshake_stall", Http("https://127.0.0.1:" + std::to_string(p.mute.Port()) + "/"),
       Reason::kTimeout, "timed out in the TLS handshake"},
      {"garbage_status", Http(bed.Url("/fault/garbage_status")), Reason::kProtocol, ""},
      {"headers_too_large", Http(bed.Url("/fault/huge_headers")), Reason::kProtocol, "header"},
      {"reset_in_headers", Http(bed.Url("/fault/reset_mid_headers")), Reason::kProtocol, ""},
      {"reset_in_body", Http(bed.Url("/fault/reset_mid_body")), Reason::kTruncated, ""},
      {"bad_chunked", Http(bed.Url("/fault/bad_chunked")), Reason::kProtocol, ""},
      {"body_over_limit", Http(bed.Url("/fault/big_body"), ", body_limit: 64KiB"),
       Reason::kBodyTooLarge, "larger than the limit"},
      {"trickle", Http(bed.Url("/fault/trickle")), Reason::kTimeout,
       "timed out reading the response body"},
      {"redirect_loop", Http(bed.Url("/loop"), ", follow_redirects: 5"), Reason::kHttpStatus,
       "status 302, expected 2xx (after 5 redirects)"},
      {"not_modified", Http(bed.Url("/status/304")), Reason::kHttpStatus, "304"},
      {"sse_truncated", Llm(*p.sse_truncated), Reason::kTruncated, "after 2 token chunk(s)"},
      {"sse_malformed", Llm(*p.sse_malformed), Reason::kProtocol, "not valid JSON"},
      {"sse_error_event", Llm(*p.sse_error), Reason::kStreamError, "injected stream error"},
      {"sse_no_tokens", Llm(*p.sse_no_tokens), Reason::kNoTokens, "without a single token"},
      {"sse_never_a_token", Llm(*p.sse_silent), Reason::kTimeout, ""},
      {"login_without_token",
       "type: scenario\nsteps:\n  - name: login\n    request: {method: POST, url: \"" +
           bed.Url("/auth/login") +
           "\", json: {username: probe, password: probe-password}}\n"
           "    extract: {token: {json: /access_token}}\n"
           "  - name: list\n    request: {url: \"" +
           bed.Url("/agents") + "\", headers: {Authorization: \"Bearer ${token}\"}}\n",
       Reason::kExpectation, "/access_token"},
  };
}

TEST(FaultMatrix, EachFaultFailsWithItsReasonAndSaysWhy) {
  Platform p;
  for (const auto& f : Faults(p)) {
    const auto r = RunOnce(ProbeFromYaml("name: " + f.name + "\ntimeout: 500ms\n" + f.yaml));
    // A resolver that cannot answer in time makes an unresolvable name a
    // timeout; either way the run failed for the name.
    if (f.name == "unresolvable" && r.reason == Reason::kTimeout) {
      EXPECT_NE(r.detail.find("resolving"), std::string::npos) << r.detail;
      continue;
    }
    EXPECT_EQ(ReasonName(r.reason), ReasonName(f.reason)) << f.name << ": " << r.detail;
    EXPECT_FALSE(r.detail.empty()) << f.name;
    EXPECT_NE(r.detail.find(f.detail), std::string::npos) << f.name << ": " << r.detail;
    // Nothing waits longer than the run's deadline.
    EXPECT_LT(r.duration, 700ms) << f.name;
  }
}

TEST(FaultMatrix, BodilessAnswersEndWithoutWaitingForABody) {
  Platform p;
  // 204 never has a body; a 304's Content-Length describes a body it does
  // not send. Either way the run is over when the headers are.
  const auto no_content = RunOnce(ProbeFromYaml(
      "name: a\ntimeout: 5s\n" + Http(p.bed.Url("/status/204"), ", keep_alive: true")));
  EXPECT_TRUE(no_content.Ok()) << no_content.detail;
  EXPECT_LT(no_content.duration, 1s);
  const auto not_modified = RunOnce(ProbeFromYaml(
      "name: b\ntimeout: 5s\n" + Http(p.bed.Url("/status/304")) + "expect: {status: [304]}\n"));
  EXPECT_TRUE(not_modified.Ok()) << not_modified.detail;
  EXPECT_LT(not_modified.duration, 1s);
}

// Open file descriptors of this process, leaving out the server ends of
// connections to the test's own servers at `server_ports`: how many of
// those linger depends on how long a fake server holds a dead connection,
// not on the daemon.
int ClientFds(const std::set<unsigned>& server_ports) {
  std::map<unsigned long, unsigned> local_port;  // socket inode -> port
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout;
      unsigned long inode = 0;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode;
      local_port[inode] = std::stoul(local.substr(local.rfind(':') + 1), nullptr, 16);
    }
  }
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(entry.path(), ec).string();
    if (!ec && target.rfind("socket:[", 0) == 0) {
      const auto it = local_port.find(std::stoul(target.substr(8)));
      if (it != local_port.end() && server_ports.count(it->second) != 0) continue;
    }
    ++n;
  }
  return n;
}

long ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}

TEST(FaultMatrix, TenThousandFailingRunsLeaveTheDaemonServingAndFlat) {
  Platform p;
  const auto faults = Faults(p);
  // Timeouts leave room for sanitizer builds: a redirect loop is six requests.
  std::string yaml = "global: {interval: 10ms, timeout: 300ms}\nprobes:\n";
  for (const auto& f : faults) {
    yaml += "  - name: " + f.name + "\n";
    std::istringstream lines(f.yaml);
    for (std::string line; std::getline(lines, line);) yaml += "    " + line + "\n";
  }
  const std::set<unsigned> servers{p.bed.Port(),
                                   p.tls.Port(),
                                   p.expired.Port(),
                                   p.mute.Port(),
                                   p.blackhole.Port(),
                                   p.sse_truncated->Port(),
                                   p.sse_malformed->Port(),
                                   p.sse_error->Port(),
                                   p.sse_no_tokens->Port(),
                                   p.sse_silent->Port()};
  DaemonRunner d(ConfigFromYaml(yaml));
  auto total = [&](const Families& f) {
    double n = 0;
    for (const auto& fault : faults) n += ProbeRuns(f, fault.name);
    return n;
  };
  int scrapes = 0;
  struct Mark {
    int fds;
    long rss;
  };
  std::vector<Mark> marks;
  for (double runs : {100.0, 1000.0, 10000.0}) {
    ASSERT_TRUE(d.WaitFor(
        [&](const Families& f) {
          // /metrics answers all along.
          if (HttpRequest(d.Port(), "GET", "/metrics").status == 200) ++scrapes;
          return total(f) >= runs;
        },
        120s));
    marks.push_back({ClientFds(servers), ResidentBytes()});
  }
  d.Stop();
  const auto f = d.Collect();
  EXPECT_GT(scrapes, 10);
  for (const auto& fault : faults) {
    const double runs = ProbeRuns(f, fault.name);
    EXPECT_GT(runs, 0) << fault.name;
    if (fault.name == "unresolvable") continue;  // dns or timeout, see above
    const double own =
        SumValues(f, "sloprobe_probe_failures_total",
                  {{"probe", fault.name}, {"reason", std::string(ReasonName(fault.reason))}});
#ifdef SLOPROBE_SANITIZED
    // Several times slower, a sanitized build sometimes misses a deadline
    // (a redirect loop is six requests): those runs are timeouts, and
    // nothing else.
    const double timeouts = fault.reason == Reason::kTimeout
                                ? 0
                                : SumValues(f, "sloprobe_probe_failures_total",
                                            {{"probe", fault.name}, {"reason", "timeout"}});
    EXPECT_EQ(own + timeouts, runs) << fault.name;
    EXPECT_GE(own, 0.9 * runs) << fault.name;
#else
    EXPECT_EQ(own, runs) << fault.name;
#endif
  }
  // In-flight runs hold a socket or two each; nothing accumulates.
  EXPECT_LE(marks[2].fds, marks[0].fds + 2 * static_cast<int>(faults.size()))
      << marks[0].fds << " -> " << marks[2].fds;
#ifndef SLOPROBE_SANITIZED  // sanitizers keep freed memory in quarantine
  EXPECT_LT(marks[2].rss - marks[0].rss, 2L << 20) << marks[0].rss << " -> " << marks[2].rss;
#endif
  std::printf("fault matrix: %.0f runs; fds %d, %d, %d; RSS %ld, %ld, %ld KiB; %d scrapes\n",
              total(f), marks[0].fds, marks[1].fds, marks[2].fds, marks[0].rss >> 10,
              marks[1].rss >> 10, marks[2].rss >> 10, scrapes);
}

}  // namespace
}  // namespace sloprobe::test
