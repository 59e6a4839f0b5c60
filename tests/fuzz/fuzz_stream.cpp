// LLM stream decoding: SSE (OpenAI, Anthropic) and NDJSON (Ollama) bodies,
// cut into reads at arbitrary places. The first byte picks the API and the
// read size; the rest is the body a server sent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "probes/llm_stream/wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sloprobe::probes;
  if (size < 1) return 0;
  constexpr LlmApi kApis[] = {LlmApi::kOpenAi, LlmApi::kAnthropic, LlmApi::kOllama};
  const LlmApi api = kApis[data[0] % 3];
  const std::size_t read_size = 1 + (data[0] >> 2);  // 1..64 bytes per read
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  const auto t0 = StreamTimer::Clock::now();
  StreamTimer timer(t0);
  StreamDecoder decoder(api, timer);
  auto at = t0;
  for (std::size_t i = 0; i < body.size(); i += read_size) {
    at += std::chrono::milliseconds(1);
    timer.FirstByte(at);
    if (!decoder.Feed(body.substr(i, read_size), at)) break;
  }
  timer.End(at);
  const auto s = timer.Finish();
  // What the timings promise (docs/metrics.md): one gap per pair of token
  // chunks, TTFT with the first token and never before the first byte.
  if (s.token_items > 0 && s.gaps.size() != s.token_items - 1) std::abort();
  if (s.token_items == 0 && (s.ttft || !s.gaps.empty())) std::abort();
  if (s.ttft && (!s.ttfb || *s.ttft < *s.ttfb)) std::abort();
  if (s.reason != Reason::kOk && s.detail.empty()) std::abort();
  return 0;
}
