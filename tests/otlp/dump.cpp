// Writes one snapshot of a sloprobe metrics registry three ways, for
// tests/otlp/check.js: metrics.txt (what /metrics serves), request.pb and
// request.json (the OTLP export of the same families). The registry holds
// every kind of probe sloprobe has, with results recorded, so every metric
// family and type appears.
#include <prometheus/text_serializer.h>

#include <fstream>
#include <iostream>

#include "config/loader.hpp"
#include "daemon/exposition.hpp"
#include "daemon/metrics.hpp"
#include "daemon/otlp.hpp"

namespace {

using namespace std::chrono_literals;
using namespace sloprobe;

constexpr const char* kConfig = R"(probes:
  - name: web
    type: http
    request: {url: "https://h/health"}
    objectives: {latency: {quantile: 0.95, threshold: 200ms}, error_ratio: 0.01}
  - name: flow
    type: scenario
    steps:
      - name: login
        request: {url: "http://h/login", method: POST}
      - name: agents
        request: {url: "http://h/agents"}
  - name: chat
    type: llm_stream
    api: openai
    url: "http://h/v1/chat/completions"
    model: m-1
    prompt: hi
    objectives: {ttft: {threshold: 500ms}, inter_chunk: {threshold: 100ms}}
)";

probes::ProbeResult Run(probes::Duration d, std::string step, probes::Reason reason) {
  probes::ProbeResult r;
  r.duration = d;
  r.reason = reason;
  r.step = step;
  probes::StepResult s;
  s.name = std::move(step);
  s.duration = d;
  s.phases.connect = 1ms;
  s.phases.ttfb = d / 2;
  r.steps.push_back(s);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: sloprobe-otlp-dump OUT_DIR\n";
    return 2;
  }
  const std::string out = argv[1];
  auto loaded = config::LoadConfigString(kConfig, "dump.yml");
  if (!loaded.config) {
    std::cerr << loaded.errors.at(0).ToString() << "\n";
    return 1;
  }
  auto registry = std::make_shared<prometheus::Registry>();
  daemon::Metrics metrics(registry);
  std::vector<std::unique_ptr<daemon::ProbeMetrics>> probes;
  for (const auto& p : loaded.config->probes) probes.push_back(metrics.ForProbe(p));
  for (int i = 0; i < 40; ++i) {
    const auto d = std::chrono::milliseconds(5 + (i * 37) % 400);
    auto web = Run(d, "request", i % 10 == 3 ? probes::Reason::kTimeout : probes::Reason::kOk);
    web.cert_not_after = 1'900'000'000;
    probes[0]->Record(web, 1'790'000'000 + i);
    probes[1]->Record(Run(d, i % 7 == 0 ? "agents" : "login",
                          i % 7 == 0 ? probes::Reason::kHttpStatus : probes::Reason::kOk),
                      1'790'000'000 + i);
    auto chat = Run(d, "request", probes::Reason::kOk);
    chat.stream = probes::StreamTimings{};
    chat.stream->ttfb = d / 3;
    chat.stream->ttft = d / 2;
    chat.stream->gaps = {3ms, 20ms, 150ms};
    chat.stream->e2e = d;
    chat.stream->tpot = 9ms;
    chat.stream->stream = d + 1ms;
    chat.stream->output_tokens = 12;
    chat.stream->input_tokens = 7;
    chat.stream->token_items = 4;
    probes[2]->Record(chat, 1'790'000'000 + i);
    metrics.ObserveSchedulerLag(0.0001 * i);
  }
  metrics.SetConfigReload(true, 1'790'000'000);

  // As the exporter does it: own families through the prometheus-cpp model,
  // the per-probe series straight from the store; external labels on all.
  const std::vector<prometheus::ClientMetric::Label> external{{"location", "eu-west"}};
  auto own = registry->Collect();
  daemon::AddLabels(own, external);
  auto all = metrics.Collect(external);
  daemon::AddLabels(all, external);
  daemon::otlp::StartTimes starts(1'789'000'000'000'000'000ull);
  const auto now =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  const daemon::otlp::Attributes resource{{"service.name", "sloprobe"},
                                          {"service.instance.id", "dump:9479"}};
  auto encode = [&](daemon::otlp::Encoding encoding) {
    daemon::otlp::StartTimes fresh = starts;
    return daemon::otlp::EncodeSnapshot(encoding, own, fresh, metrics.Store().get(), external, now,
                                        resource, "0.1.0");
  };
  std::ofstream(out + "/metrics.txt") << prometheus::TextSerializer().Serialize(all);
  std::ofstream(out + "/request.pb", std::ios::binary) << encode(daemon::otlp::Encoding::kProtobuf);
  std::ofstream(out + "/request.json") << encode(daemon::otlp::Encoding::kJson);
  return 0;
}
