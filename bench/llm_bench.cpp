// sloprobe-bench-llm: measurements for LLM streaming, printed as Markdown
// rows for docs/benchmarks.md.
//
//   sloprobe-bench-llm timing RUNS    TTFB, TTFT and gap error of the
//                                     llm_stream probe against the testbed's
//                                     record of each chunk's write
//   sloprobe-bench-llm parse FILE     SSE parser and full decoder throughput
//                                     over FILE, fed in 16 KiB reads
//   sloprobe-bench-llm sample FILE MB write an OpenAI-style stream of MB MiB
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/loader.hpp"
#include "probes/common/sse.hpp"
#include "probes/kinds.hpp"
#include "probes/llm_stream/wire.hpp"
#include "testbed/testbed.hpp"

namespace {

using namespace sloprobe;
using Clock = std::chrono::steady_clock;
using std::chrono::duration;

double Ms(Clock::duration d) { return duration<double, std::milli>(d).count(); }

std::string Quantiles(std::vector<double> v) {
  if (v.empty()) return "n/a";
  for (auto& x : v) x = std::abs(x);
  std::sort(v.begin(), v.end());
  auto q = [&](double p) {
    return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
  };
  char out[96];
  std::snprintf(out, sizeof out, "%.3f | %.3f | %.3f | %zu", q(0.5), q(0.99), v.back(), v.size());
  return out;
}

int Timing(int runs) {
  boost::asio::io_context server_io(1);
  testbed::Testbed bed(server_io.get_executor(), {});
  testbed::StreamSpec spec;
  spec.ttfb = std::chrono::milliseconds(2);
  spec.first_token = std::chrono::milliseconds(5);
  spec.gap = std::chrono::milliseconds(2);
  spec.gap_random = std::chrono::milliseconds(8);
  spec.chunks = 20;
  bed.SetStream(spec);
  bed.Start();
  std::thread server([&] { server_io.run(); });

  const std::string yaml =
      "probes:\n  - {name: t, type: llm_stream, api: openai, timeout: 5s, "
      "url: \"http://127.0.0.1:" +
      std::to_string(bed.Port()) +
      "/v1/chat/completions\", model: m, prompt: Hi, max_tokens: 1000}\n";
  auto loaded = config::LoadConfigString(yaml, "bench.yml");
  if (!loaded.config) {
    std::cerr << loaded.errors.at(0).ToString() << "\n";
    return 1;
  }
  boost::asio::io_context io(1);
  auto probe = probes::MakeProbe(loaded.config->probes.at(0), io.get_executor(),
                                 std::make_shared<probes::TlsContexts>());
  std::vector<double> ttfb, ttft, gaps;
  int failed = 0;
  for (int i = 0; i < runs; ++i) {
    bed.ClearRecords();
    auto future = boost::asio::co_spawn(io, probe->Run(), boost::asio::use_future);
    io.restart();
    io.run();
    const auto result = future.get();
    if (!result.Ok() || !result.stream) {
      ++failed;
      continue;
    }
    // The server adds its record after the last token's write; wait for it.
    std::vector<testbed::Record> records;
    for (int tries = 0; tries < 1000 && records.empty(); ++tries) {
      records = bed.Records();
      if (records.empty()) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (records.empty()) {
      ++failed;
      continue;
    }
    const auto& rec = records.back();
    const auto& s = *result.stream;
    ttfb.push_back(Ms(*s.ttfb - rec.actual));
    ttft.push_back(Ms(*s.ttft - rec.token_written.at(0)));
    for (std::size_t g = 0; g < s.gaps.size(); ++g) {
      gaps.push_back(Ms(s.gaps[g] - (rec.token_written.at(g + 1) - rec.token_written.at(g))));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // idle like a scheduled probe
  }
  bed.Stop();
  server_io.stop();
  server.join();
  std::cout
      << "| error vs ground truth (ms) | p50 | p99 | max | samples |\n|---|---|---|---|---|\n";
  std::cout << "| sloprobe TTFB | " << Quantiles(ttfb) << " |\n";
  std::cout << "| sloprobe TTFT | " << Quantiles(ttft) << " |\n";
  std::cout << "| sloprobe inter-chunk gap | " << Quantiles(gaps) << " |\n";
  std::cout << "\nfailed runs: " << failed << " of " << runs << "\n";
  return failed == 0 ? 0 : 1;
}

int Sample(const std::string& path, int mib) {
  std::ofstream out(path, std::ios::binary);
  std::size_t written = 0;
  for (int i = 0; written < static_cast<std::size_t>(mib) << 20; ++i) {
    std::string event =
        R"(data: {"id":"chatcmpl-9x7","object":"chat.completion.chunk","created":1732272000,)"
        R"("model":"my-model","choices":[{"index":0,"delta":{"content":" word)" +
        std::to_string(i % 1000) + R"("},"finish_reason":null}]})" + "\n\n";
    out << event;
    written += event.size();
  }
  out << "data: [DONE]\n\n";
  return 0;
}

int Parse(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string data = ss.str();
  constexpr std::size_t kRead = 16 * 1024;
  const double mib = static_cast<double>(data.size()) / (1 << 20);
  auto best = [&](auto&& body) {
    double best_seconds = 1e9;
    for (int round = 0; round < 5; ++round) {
      const auto t = Clock::now();
      body();
      best_seconds = std::min(best_seconds, duration<double>(Clock::now() - t).count());
    }
    return mib / best_seconds;
  };
  std::size_t events = 0;
  const double sse = best([&] {
    probes::SseParser parser;
    events = 0;
    for (std::size_t off = 0; off < data.size(); off += kRead) {
      parser.Feed(std::string_view(data).substr(off, kRead),
                  [&](const probes::SseParser::Event&) { ++events; });
    }
  });
  std::uint64_t tokens = 0;
  const double decode = best([&] {
    probes::StreamTimer timer(Clock::now());
    probes::StreamDecoder decoder(probes::LlmApi::kOpenAi, timer);
    const auto at = Clock::now();
    for (std::size_t off = 0; off < data.size(); off += kRead) {
      decoder.Feed(std::string_view(data).substr(off, kRead), at);
    }
    tokens = timer.Finish().token_items;
  });
  std::printf("| SSE parser (events only) | %.0f MB/s | %zu events |\n", sse * 1.048576, events);
  std::printf("| full decode (SSE + JSON + timing) | %.0f MB/s | %llu tokens |\n",
              decode * 1.048576, static_cast<unsigned long long>(tokens));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "timing") return Timing(std::stoi(args[1]));
  if (args.size() == 2 && args[0] == "parse") return Parse(args[1]);
  if (args.size() == 3 && args[0] == "sample") return Sample(args[1], std::stoi(args[2]));
  std::cerr << "usage: sloprobe-bench-llm timing RUNS | parse FILE | sample FILE MIB\n";
  return 2;
}
