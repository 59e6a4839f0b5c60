#include "probes/llm_stream/wire.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace sloprobe::probes {
namespace {

namespace json = boost::json;

const json::value* Field(const json::value* v, std::string_view key) {
  if (v == nullptr || !v->is_object()) return nullptr;
  return v->as_object().if_contains(key);
}

bool NonEmptyString(const json::value* v) {
  return v != nullptr && v->is_string() && !v->as_string().empty();
}

bool NonEmptyArray(const json::value* v) {
  return v != nullptr && v->is_array() && !v->as_array().empty();
}

std::optional<std::uint64_t> Count(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<std::uint64_t>(v->as_int64());
  return std::nullopt;
}

// The server's error text as it is (bounded): secrets are scrubbed from it
// before it is shortened for a message (QuoteError).
std::string ErrorText(const json::value* error) {
  constexpr std::size_t kLimit = 4096;
  auto bounded = [](std::string_view s) { return std::string(s.substr(0, kLimit)); };
  if (error != nullptr && error->is_string()) return bounded(error->as_string());
  if (const auto* message = Field(error, "message"); NonEmptyString(message)) {
    return bounded(message->as_string());
  }
  if (const auto* type = Field(error, "type"); NonEmptyString(type)) {
    return bounded(type->as_string());
  }
  return "no message";
}

void OpenAi(const json::value& doc, StreamItem& item) {
  if (const auto* error = Field(&doc, "error"); error != nullptr && !error->is_null()) {
    item.error = true;
    item.error_detail = ErrorText(error);
    return;
  }
  if (const auto* choices = Field(&doc, "choices"); choices != nullptr && choices->is_array()) {
    for (const auto& choice : choices->as_array()) {
      const auto* delta = Field(&choice, "delta");
      if (NonEmptyString(Field(delta, "content")) ||
          NonEmptyString(Field(delta, "reasoning_content")) ||
          NonEmptyString(Field(delta, "reasoning")) || NonEmptyArray(Field(delta, "tool_calls"))) {
        item.token = true;
      }
    }
  }
  if (const auto* usage = Field(&doc, "usage"); usage != nullptr && usage->is_object()) {
    item.output_tokens = Count(Field(usage, "completion_tokens"));
    item.input_tokens = Count(Field(usage, "prompt_tokens"));
  }
}

void Anthropic(std::string_view event_type, const json::value& doc, StreamItem& item) {
  std::string_view type = event_type;
  if (const auto* t = Field(&doc, "type"); NonEmptyString(t)) type = t->as_string();
  if (type == "error") {
    item.error = true;
    item.error_detail = ErrorText(Field(&doc, "error"));
  } else if (type == "content_block_delta") {
    const auto* delta = Field(&doc, "delta");
    item.token = NonEmptyString(Field(delta, "text")) || NonEmptyString(Field(delta, "thinking")) ||
                 NonEmptyString(Field(delta, "partial_json"));
  } else if (type == "message_start") {
    const auto* usage = Field(Field(&doc, "message"), "usage");
    item.input_tokens = Count(Field(usage, "input_tokens"));
    item.output_tokens = Count(Field(usage, "output_tokens"));
  } else if (type == "message_delta") {
    const auto* usage = Field(&doc, "usage");
    item.output_tokens = Count(Field(usage, "output_tokens"));
    if (auto input = Count(Field(usage, "input_tokens"))) item.input_tokens = input;
  } else if (type == "message_stop") {
    item.terminal = true;
  }
}

void Ollama(const json::value& doc, StreamItem& item) {
  if (const auto* error = Field(&doc, "error"); error != nullptr && !error->is_null()) {
    item.error = true;
    item.error_detail = ErrorText(error);
    return;
  }
  const auto* message = Field(&doc, "message");
  item.token =
      NonEmptyString(Field(message, "content")) || NonEmptyString(Field(message, "thinking"));
  if (const auto* done = Field(&doc, "done");
      done != nullptr && done->is_bool() && done->as_bool()) {
    item.terminal = true;
    item.output_tokens = Count(Field(&doc, "eval_count"));
    item.input_tokens = Count(Field(&doc, "prompt_eval_count"));
  }
}

}  // namespace

StreamItem InterpretChunk(LlmApi api, std::string_view type, std::string_view data) {
  StreamItem item;
  if (api == LlmApi::kOpenAi && data == "[DONE]") {
    item.terminal = true;
    return item;
  }
  // A chunk is small: its JSON lives in a stack buffer (spilling to the
  // heap only when larger), not in one allocation per value.
  unsigned char buffer[4096];
  json::monotonic_resource memory(buffer, sizeof buffer);
  boost::system::error_code ec;
  const auto doc = json::parse(data, ec, &memory);
  if (ec || !doc.is_object()) {
    item.malformed = true;
    return item;
  }
  switch (api) {
    case LlmApi::kOpenAi:
      OpenAi(doc, item);
      break;
    case LlmApi::kAnthropic:
      Anthropic(type, doc, item);
      break;
    case LlmApi::kOllama:
      Ollama(doc, item);
      break;
  }
  return item;
}

void StreamTimer::FirstByte(Clock::time_point at) {
  if (!first_byte_) first_byte_ = at;
}

void StreamTimer::Add(const StreamItem& item, Clock::time_point at) {
  if (item.error && !error_) {
    error_ = true;
    detail_ = "error in the stream: " + item.error_detail;
  }
  if (item.malformed && !malformed_) {
    malformed_ = true;
    if (!error_) detail_ = "a chunk of the stream is not valid JSON";
  }
  if (item.token) {
    ++token_items_;
    if (!first_token_) {
      first_token_ = at;
    } else {
      gaps_.push_back(at - *last_token_);
    }
    last_token_ = at;
  }
  if (item.output_tokens) output_tokens_ = item.output_tokens;
  if (item.input_tokens) input_tokens_ = item.input_tokens;
  if (item.terminal) terminated_ = true;
}

StreamTimer::Summary StreamTimer::Finish() const {
  Summary s;
  if (first_byte_) s.ttfb = *first_byte_ - t0_;
  if (first_token_) s.ttft = *first_token_ - t0_;
  if (last_token_) s.e2e = *last_token_ - t0_;
  if (end_) s.stream = *end_ - t0_;
  s.gaps = gaps_;
  s.token_items = token_items_;
  s.input_tokens = input_tokens_;
  s.output_tokens = output_tokens_.value_or(token_items_);
  s.output_tokens_approximate = !output_tokens_;
  if (s.ttft && s.e2e && s.output_tokens > 1) {
    s.tpot = (*s.e2e - *s.ttft) / static_cast<Duration::rep>(s.output_tokens - 1);
  }
  if (error_) {
    s.reason = Reason::kStreamError;
    s.detail = detail_;
  } else if (malformed_) {
    s.reason = Reason::kProtocol;
    s.detail = detail_;
  } else if (!terminated_) {
    s.reason = Reason::kTruncated;
    s.detail = "the stream ended before its end marker, after " + std::to_string(token_items_) +
               " token chunk(s)";
  } else if (token_items_ == 0) {
    s.reason = Reason::kNoTokens;
    s.detail = "the stream ended without a single token";
  }
  return s;
}

std::string QuoteError(std::string_view text, const config::Redactor* scrub) {
  return Excerpt(scrub != nullptr ? scrub->Redact(text) : std::string(text));
}

bool StreamDecoder::Feed(std::string_view bytes, StreamTimer::Clock::time_point at) {
  auto add = [&](std::string_view type, std::string_view data) {
    auto item = InterpretChunk(api_, type, data);
    if (item.error) item.error_detail = QuoteError(item.error_detail, scrub_);
    timer_.Add(item, at);
  };
  if (api_ == LlmApi::kOllama) {
    ndjson_.Feed(bytes, [&](std::string_view line) { add("message", line); });
  } else {
    sse_.Feed(bytes, [&](const SseParser::Event& e) { add(e.type, e.data); });
  }
  if (timer_.Terminated() || timer_.Failed()) {
    timer_.End(at);
    return false;
  }
  return true;
}

std::string BuildLlmBody(const config::LlmStream& llm, std::string_view nonce) {
  json::object body;
  body["model"] = llm.model;
  json::array messages;
  std::string system;  // Anthropic takes system text beside the messages
  bool first = true;
  for (const auto& m : llm.messages) {
    std::string content = m.content;
    if (first && !nonce.empty()) content = "[" + std::string(nonce) + "] " + content;
    first = false;
    if (llm.api == LlmApi::kAnthropic && m.role == "system") {
      if (!system.empty()) system += "\n";
      system += content;
      continue;
    }
    messages.push_back(json::object{{"role", m.role}, {"content", std::move(content)}});
  }
  body["messages"] = std::move(messages);
  body["stream"] = true;
  switch (llm.api) {
    case LlmApi::kOpenAi:
      body["max_tokens"] = llm.max_tokens;
      if (llm.temperature) body["temperature"] = *llm.temperature;
      if (llm.include_usage) body["stream_options"] = json::object{{"include_usage", true}};
      break;
    case LlmApi::kAnthropic:
      body["max_tokens"] = llm.max_tokens;
      if (llm.temperature) body["temperature"] = *llm.temperature;
      if (!system.empty()) body["system"] = system;
      break;
    case LlmApi::kOllama: {
      json::object options{{"num_predict", llm.max_tokens}};
      if (llm.temperature) options["temperature"] = *llm.temperature;
      body["options"] = std::move(options);
      break;
    }
  }
  for (const auto& [key, value] : llm.extra_body) body[key] = value;
  return json::serialize(body);
}

}  // namespace sloprobe::probes
