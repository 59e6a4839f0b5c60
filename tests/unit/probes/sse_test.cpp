// The SSE parser and NDJSON reader: the WHATWG rules, and the same events
// however the bytes are split into reads.
#include "probes/common/sse.hpp"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

namespace sloprobe::probes {
namespace {

using Events = std::vector<std::tuple<std::string, std::string, std::string>>;

// Feeds `stream` in pieces that end at each of `cuts`.
Events Parse(std::string_view stream, const std::vector<std::size_t>& cuts,
             bool* cut_off = nullptr) {
  SseParser parser;
  Events out;
  auto on_event = [&](const SseParser::Event& e) {
    out.emplace_back(std::string(e.type), std::string(e.data), std::string(e.id));
  };
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    parser.Feed(stream.substr(from, cut - from), on_event);
    from = cut;
  }
  parser.Feed(stream.substr(from), on_event);
  if (cut_off != nullptr) *cut_off = parser.Finish();
  return out;
}

Events Parse(std::string_view stream) { return Parse(stream, {}); }

// Every split into two reads, and one byte per read, give the same events
// and the same verdict at the end as one read.
void ExpectSplitInvariant(std::string_view stream) {
  bool whole_cut = false;
  const auto whole = Parse(stream, {}, &whole_cut);
  for (std::size_t k = 0; k <= stream.size(); ++k) {
    bool cut = false;
    ASSERT_EQ(Parse(stream, {k}, &cut), whole) << "split at byte " << k;
    ASSERT_EQ(cut, whole_cut) << "split at byte " << k;
  }
  std::vector<std::size_t> every;
  for (std::size_t k = 1; k < stream.size(); ++k) every.push_back(k);
  bool cut = false;
  EXPECT_EQ(Parse(stream, every, &cut), whole) << "one byte per read";
  EXPECT_EQ(cut, whole_cut);
}

constexpr std::string_view kOpenAi =
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n"
    ": keep-alive\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"completion_tokens\":2}}\n\n"
    "data: [DONE]\n\n";

constexpr std::string_view kAnthropic =
    "event: message_start\r\ndata: {\"type\":\"message_start\"}\r\n\r\n"
    "event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n"
    "event: content_block_delta\r\n"
    "data: "
    "{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\r\n"
    "\r\n"
    "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";

TEST(Sse, OpenAiStream) {
  bool cut = true;
  const auto events = Parse(kOpenAi, {}, &cut);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(std::get<0>(events[1]), "message");
  EXPECT_EQ(std::get<1>(events[1]), R"({"choices":[{"index":0,"delta":{"content":"Hel"}}]})");
  EXPECT_EQ(std::get<1>(events[4]), "[DONE]");
  // The ": keep-alive" comment before it makes no event.
  EXPECT_EQ(std::get<1>(events[2]), R"({"choices":[{"index":0,"delta":{"content":"lo"}}]})");
  EXPECT_FALSE(cut);
  ExpectSplitInvariant(kOpenAi);
}

TEST(Sse, AnthropicStreamWithCrlf) {
  const auto events = Parse(kAnthropic);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(std::get<0>(events[0]), "message_start");
  EXPECT_EQ(std::get<0>(events[1]), "ping");
  EXPECT_EQ(std::get<0>(events[2]), "content_block_delta");
  EXPECT_EQ(std::get<0>(events[3]), "message_stop");
  ExpectSplitInvariant(kAnthropic);
}

TEST(Sse, AnyLineEndingAndMixesOfThem) {
  const Events expected{{"message", "a\nb", ""}, {"x", "c", ""}};
  for (std::string_view stream :
       {"data: a\ndata: b\n\nevent: x\ndata: c\n\n", "data: a\rdata: b\r\revent: x\rdata: c\r\r",
        "data: a\r\ndata: b\r\n\r\nevent: x\r\ndata: c\r\n\r\n",
        "data: a\rdata: b\n\r\nevent: x\r\ndata: c\n\r"}) {
    EXPECT_EQ(Parse(stream), expected) << stream;
    ExpectSplitInvariant(stream);
  }
}

TEST(Sse, FieldsFollowTheRules) {
  // One leading space is stripped, no more; no colon means an empty value;
  // a bare "data" still makes an event; unknown fields and retry are ignored.
  EXPECT_EQ(
      Parse("data:x\n\ndata:  y\n\ndata\n\nfoo: bar\nretry: 10\ndata: z\n\n"),
      (Events{
          {"message", "x", ""}, {"message", " y", ""}, {"message", "", ""}, {"message", "z", ""}}));
  // Only the first colon splits; the value may hold more.
  EXPECT_EQ(Parse("data: a: b:c\n\n"), (Events{{"message", "a: b:c", ""}}));
  // An event without data is not dispatched, and its type does not leak.
  EXPECT_EQ(Parse("event: ping\n\ndata: 1\n\n"), (Events{{"message", "1", ""}}));
  // The last event ID persists; one holding NUL is ignored.
  static constexpr char kIds[] = "id: 7\ndata: a\n\ndata: b\n\nid: 8\0x\ndata: c\n\n";
  EXPECT_EQ(Parse(std::string_view(kIds, sizeof kIds - 1)),
            (Events{{"message", "a", "7"}, {"message", "b", "7"}, {"message", "c", "7"}}));
}

TEST(Sse, OneLeadingBomIsDropped) {
  EXPECT_EQ(Parse("\xEF\xBB\xBF"
                  "data: a\n\n"),
            (Events{{"message", "a", ""}}));
  ExpectSplitInvariant(
      "\xEF\xBB\xBF"
      "data: a\n\n");
  // A second one belongs to the field name, which is then unknown.
  EXPECT_EQ(Parse("\xEF\xBB\xBF\xEF\xBB\xBF"
                  "data: a\n\ndata: b\n\n"),
            (Events{{"message", "b", ""}}));
  // Later ones are data.
  EXPECT_EQ(Parse("data: \xEF\xBB\xBF"
                  "b\n\n"),
            (Events{{"message",
                     "\xEF\xBB\xBF"
                     "b",
                     ""}}));
  // Bytes that start like a BOM but are not one are kept (here they make
  // the first field name unknown).
  EXPECT_EQ(Parse("\xEF"
                  "data: a\n\ndata: b\n\n",
                  {1}),
            (Events{{"message", "b", ""}}));
}

TEST(Sse, AnEventCutOffByTheEndIsDiscarded) {
  for (std::string_view stream : {"data: a\n\ndata: b\n", "data: a\n\ndata: b", "data: a\n\n:"}) {
    bool cut = false;
    EXPECT_EQ(Parse(stream, {}, &cut), (Events{{"message", "a", ""}})) << stream;
    EXPECT_TRUE(cut) << stream;
    ExpectSplitInvariant(stream);
  }
  bool cut = true;
  Parse("data: a\n\n", {}, &cut);
  EXPECT_FALSE(cut);
  Parse("\xEF\xBB", {}, &cut);
  EXPECT_TRUE(cut);
}

TEST(Sse, LongEventsAcrossManyReads) {
  const std::string big(200000, 'x');
  const std::string stream = "data: " + big + "\ndata: " + big + "\n\n";
  std::vector<std::size_t> cuts;
  for (std::size_t k = 4096; k < stream.size(); k += 4096) cuts.push_back(k);
  const auto events = Parse(stream, cuts);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<1>(events[0]), big + "\n" + big);
}

std::vector<std::string> Lines(std::string_view stream, const std::vector<std::size_t>& cuts,
                               bool* cut_off) {
  NdjsonReader reader;
  std::vector<std::string> out;
  auto on_line = [&](std::string_view l) { out.emplace_back(l); };
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    reader.Feed(stream.substr(from, cut - from), on_line);
    from = cut;
  }
  reader.Feed(stream.substr(from), on_line);
  *cut_off = reader.Finish();
  return out;
}

TEST(Ndjson, OllamaLinesWhateverTheSplit) {
  constexpr std::string_view kOllama =
      "{\"message\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"done\":false}\n"
      "\n"
      "{\"message\":{\"role\":\"assistant\",\"content\":\"lo\"},\"done\":false}\r\n"
      "{\"message\":{\"content\":\"\"},\"done\":true,\"eval_count\":2}\n";
  bool cut = true;
  const auto whole = Lines(kOllama, {}, &cut);
  ASSERT_EQ(whole.size(), 3u);
  EXPECT_EQ(whole[2], R"({"message":{"content":""},"done":true,"eval_count":2})");
  EXPECT_FALSE(cut);
  for (std::size_t k = 0; k <= kOllama.size(); ++k) {
    bool c = true;
    ASSERT_EQ(Lines(kOllama, {k}, &c), whole) << k;
    ASSERT_FALSE(c);
  }
  EXPECT_EQ(Lines("{\"a\":1}\n{\"b\"", {}, &cut), (std::vector<std::string>{"{\"a\":1}"}));
  EXPECT_TRUE(cut);
}

}  // namespace
}  // namespace sloprobe::probes
