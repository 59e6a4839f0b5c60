#include "testbed/llm.hpp"

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <stdexcept>

#include "config/duration.hpp"

namespace sloprobe::testbed {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

http::response<http::string_body> JsonError(http::status status, std::string_view type,
                                            std::string_view message) {
  http::response<http::string_body> res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = json::serialize(json::object{
      {"type", "error"}, {"error", json::object{{"type", type}, {"message", message}}}});
  return res;
}

const json::value* Field(const json::value& v, std::string_view key) {
  return v.is_object() ? v.as_object().if_contains(key) : nullptr;
}

std::optional<std::int64_t> Int(const json::value* v) {
  if (v != nullptr && v->is_int64()) return v->as_int64();
  if (v != nullptr && v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  return std::nullopt;
}

// Words in the request's messages: the prompt "token" count it reports.
std::int64_t PromptWords(const json::value& messages) {
  std::int64_t words = 0;
  for (const auto& m : messages.as_array()) {
    const auto* content = Field(m, "content");
    if (content == nullptr || !content->is_string()) continue;
    bool in_word = false;
    for (char c : content->as_string()) {
      const bool space = c == ' ' || c == '\n' || c == '\t';
      if (!space && !in_word) ++words;
      in_word = !space;
    }
  }
  return words;
}

class Writer {
 public:
  Writer(LlmDialect dialect, const StreamSpec& spec) : dialect_(dialect), spec_(spec) {}

  void Event(std::string_view type, const json::value& data, bool token = false,
             Duration wait = {}) {
    std::string out;
    const std::string& nl = spec_.line_ending;
    if (dialect_ == LlmDialect::kOllama) {
      out = json::serialize(data) + "\n";
    } else {
      if (spec_.comments) out += ": keep-alive" + nl;
      if (!type.empty()) out += "event: " + std::string(type) + nl;
      out += "data: " + (data.is_string() ? std::string(data.as_string()) : json::serialize(data)) +
             nl + nl;
    }
    events.push_back({std::move(out), token, wait});
  }

  std::vector<StreamEvent> events;

 private:
  LlmDialect dialect_;
  const StreamSpec& spec_;
};

std::string Words(int first, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out += "w" + std::to_string(first + i) + " ";
  return out;
}

}  // namespace

std::optional<LlmDialect> LlmEndpoint(std::string_view path) {
  if (path == "/v1/chat/completions") return LlmDialect::kOpenAi;
  if (path == "/v1/messages") return LlmDialect::kAnthropic;
  if (path == "/api/chat") return LlmDialect::kOllama;
  if (path == kAgentChatPath) return LlmDialect::kOpenAi;
  return std::nullopt;
}

LlmScript ScriptLlm(LlmDialect dialect, const http::request<http::string_body>& req,
                    const StreamSpec& spec, const std::string& api_key, std::mt19937_64& rng) {
  LlmScript script;
  if (req.method() != http::verb::post) {
    script.whole = JsonError(http::status::method_not_allowed, "invalid_request_error", "use POST");
    return script;
  }
  if (!api_key.empty()) {
    const bool ok = dialect == LlmDialect::kAnthropic
                        ? req["x-api-key"] == api_key
                        : req[http::field::authorization] == "Bearer " + api_key;
    if (!ok) {
      script.whole =
          JsonError(http::status::unauthorized, "authentication_error", "invalid api key");
      return script;
    }
  }
  if (dialect == LlmDialect::kAnthropic && req["anthropic-version"].empty()) {
    script.whole = JsonError(http::status::bad_request, "invalid_request_error",
                             "anthropic-version header is required");
    return script;
  }
  boost::system::error_code ec;
  const auto body = json::parse(req.body(), ec);
  const auto* model = ec ? nullptr : Field(body, "model");
  const auto* messages = ec ? nullptr : Field(body, "messages");
  if (model == nullptr || !model->is_string() || messages == nullptr || !messages->is_array() ||
      messages->as_array().empty()) {
    script.whole = JsonError(http::status::bad_request, "invalid_request_error",
                             "body must be JSON with 'model' and a non-empty 'messages' list");
    return script;
  }
  std::optional<std::int64_t> max_tokens;
  if (dialect == LlmDialect::kOllama) {
    if (const auto* options = Field(body, "options"))
      max_tokens = Int(Field(*options, "num_predict"));
  } else {
    max_tokens = Int(Field(body, "max_tokens"));
    if (!max_tokens) max_tokens = Int(Field(body, "max_completion_tokens"));
  }
  if (dialect == LlmDialect::kAnthropic && !max_tokens) {
    script.whole =
        JsonError(http::status::bad_request, "invalid_request_error", "max_tokens is required");
    return script;
  }
  const auto* stream_field = Field(body, "stream");
  // Ollama streams unless told not to; the others only when asked.
  const bool stream = stream_field != nullptr && stream_field->is_bool()
                          ? stream_field->as_bool()
                          : dialect == LlmDialect::kOllama;
  const int per_chunk = std::max(1, spec.tokens_per_chunk);
  int chunks = std::max(0, spec.chunks);
  bool cut_short = false;
  if (max_tokens && *max_tokens >= 0 &&
      static_cast<std::int64_t>(chunks) * per_chunk > *max_tokens) {
    chunks = static_cast<int>((*max_tokens + per_chunk - 1) / per_chunk);
    cut_short = true;
  }
  const std::int64_t output_tokens = static_cast<std::int64_t>(chunks) * per_chunk;
  const std::int64_t input_tokens = PromptWords(*messages);
  const std::string model_name(model->as_string());

  if (!stream) {
    json::object out;
    const std::string text = Words(0, static_cast<int>(output_tokens));
    if (dialect == LlmDialect::kOpenAi) {
      out = {{"id", "chatcmpl-testbed"},
             {"object", "chat.completion"},
             {"model", model_name},
             {"choices", json::array{json::object{
                             {"index", 0},
                             {"message", json::object{{"role", "assistant"}, {"content", text}}},
                             {"finish_reason", cut_short ? "length" : "stop"}}}},
             {"usage", json::object{{"prompt_tokens", input_tokens},
                                    {"completion_tokens", output_tokens},
                                    {"total_tokens", input_tokens + output_tokens}}}};
    } else if (dialect == LlmDialect::kAnthropic) {
      out = {{"id", "msg_testbed"},
             {"type", "message"},
             {"role", "assistant"},
             {"model", model_name},
             {"content", json::array{json::object{{"type", "text"}, {"text", text}}}},
             {"usage",
              json::object{{"input_tokens", input_tokens}, {"output_tokens", output_tokens}}}};
    } else {
      out = {{"model", model_name},
             {"message", json::object{{"role", "assistant"}, {"content", text}}},
             {"done", true},
             {"prompt_eval_count", input_tokens},
             {"eval_count", output_tokens}};
    }
    http::response<http::string_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "application/json");
    res.body() = json::serialize(out);
    script.whole = std::move(res);
    return script;
  }

  script.content_type =
      dialect == LlmDialect::kOllama ? "application/x-ndjson" : "text/event-stream";
  Writer w(dialect, spec);
  auto gap = [&] {
    Duration d = spec.gap;
    if (spec.gap_random > Duration::zero()) {
      d += Duration(
          std::uniform_int_distribution<Duration::rep>(0, spec.gap_random.count() - 1)(rng));
    }
    return d;
  };
  bool include_usage = false;
  if (const auto* options = Field(body, "stream_options")) {
    const auto* v = Field(*options, "include_usage");
    include_usage = v != nullptr && v->is_bool() && v->as_bool();
  }
  const json::object openai_base{
      {"id", "chatcmpl-testbed"}, {"object", "chat.completion.chunk"}, {"model", model_name}};
  auto openai_delta = [&](json::object delta, json::value finish) {
    json::object chunk = openai_base;
    chunk["choices"] = json::array{
        json::object{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", finish}}};
    return chunk;
  };

  // Opening events.
  if (dialect == LlmDialect::kOpenAi && spec.role_chunk) {
    w.Event("", openai_delta({{"role", "assistant"}, {"content", ""}}, nullptr));
  } else if (dialect == LlmDialect::kAnthropic) {
    w.Event("message_start",
            json::object{
                {"type", "message_start"},
                {"message", json::object{{"id", "msg_testbed"},
                                         {"type", "message"},
                                         {"role", "assistant"},
                                         {"model", model_name},
                                         {"content", json::array{}},
                                         {"usage", spec.usage ? json::value(json::object{
                                                                    {"input_tokens", input_tokens},
                                                                    {"output_tokens", 1}})
                                                              : json::value(nullptr)}}}});
    w.Event("content_block_start",
            json::object{{"type", "content_block_start"},
                         {"index", 0},
                         {"content_block", json::object{{"type", "text"}, {"text", ""}}}});
  }

  for (int i = 0; i < chunks; ++i) {
    if (i == spec.error_after) break;
    if (i == spec.truncate_after) break;
    if (i == spec.malformed_after) {
      // Cut off mid-object; Ollama's line becomes a JSON string, not an object.
      w.Event(dialect == LlmDialect::kAnthropic ? "content_block_delta" : "",
              json::value("{\"choices\": [{\"delta\": "));
    }
    const std::string text = spec.no_tokens ? "" : Words(i * per_chunk, per_chunk);
    const Duration wait = i == 0 ? spec.first_token : gap();
    if (dialect == LlmDialect::kOpenAi) {
      w.Event("", openai_delta({{"content", text}}, nullptr), !spec.no_tokens, wait);
    } else if (dialect == LlmDialect::kAnthropic) {
      w.Event("content_block_delta",
              json::object{{"type", "content_block_delta"},
                           {"index", 0},
                           {"delta", json::object{{"type", "text_delta"}, {"text", text}}}},
              !spec.no_tokens, wait);
      if (spec.ping_every > 0 && (i + 1) % spec.ping_every == 0) {
        w.Event("ping", json::object{{"type", "ping"}});
      }
    } else {
      w.Event("",
              json::object{{"model", model_name},
                           {"message", json::object{{"role", "assistant"}, {"content", text}}},
                           {"done", false}},
              !spec.no_tokens, wait);
    }
  }
  if (spec.error_after >= 0 && spec.error_after <= chunks) {
    if (dialect == LlmDialect::kOpenAi) {
      w.Event("", json::object{{"error", json::object{{"message", "injected stream error"},
                                                      {"type", "server_error"}}}});
    } else if (dialect == LlmDialect::kAnthropic) {
      w.Event("error", json::object{{"type", "error"},
                                    {"error", json::object{{"type", "overloaded_error"},
                                                           {"message", "Overloaded"}}}});
    } else {
      w.Event("", json::object{{"error", "injected stream error"}});
    }
  } else if (spec.truncate_after >= 0 && spec.truncate_after <= chunks) {
    script.cut = spec.chunked;  // with close-delimited framing, EOF is all there is
  } else if (dialect == LlmDialect::kOpenAi) {
    w.Event("", openai_delta({}, cut_short ? "length" : "stop"));
    if (spec.usage && include_usage) {
      json::object chunk = openai_base;
      chunk["choices"] = json::array{};
      chunk["usage"] = json::object{{"prompt_tokens", input_tokens},
                                    {"completion_tokens", output_tokens},
                                    {"total_tokens", input_tokens + output_tokens}};
      w.Event("", chunk);
    }
    w.Event("", json::value("[DONE]"));
  } else if (dialect == LlmDialect::kAnthropic) {
    w.Event("content_block_stop", json::object{{"type", "content_block_stop"}, {"index", 0}});
    json::object delta{
        {"type", "message_delta"},
        {"delta", json::object{{"stop_reason", cut_short ? "max_tokens" : "end_turn"}}}};
    if (spec.usage) delta["usage"] = json::object{{"output_tokens", output_tokens}};
    w.Event("message_delta", delta);
    w.Event("message_stop", json::object{{"type", "message_stop"}});
  } else {
    json::object done{{"model", model_name},
                      {"message", json::object{{"role", "assistant"}, {"content", ""}}},
                      {"done", true},
                      {"done_reason", cut_short ? "length" : "stop"}};
    if (spec.usage) {
      done["prompt_eval_count"] = input_tokens;
      done["eval_count"] = output_tokens;
    }
    w.Event("", done);
  }
  script.events = std::move(w.events);
  return script;
}

StreamSpec ParseStreamSpec(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error("line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  StreamSpec spec;
  if (!root || root.IsNull()) return spec;
  if (!root.IsMap()) throw std::runtime_error("the stream spec must be a mapping");
  for (const auto& kv : root) {
    const auto key = kv.first.Scalar();
    const auto& v = kv.second;
    auto duration = [&] {
      auto d = config::ParseDuration(v.Scalar());
      if (!d) throw std::runtime_error("invalid duration '" + v.Scalar() + "'");
      return std::chrono::duration_cast<Duration>(*d);
    };
    try {
      if (key == "ttfb") {
        spec.ttfb = duration();
      } else if (key == "first_token") {
        spec.first_token = duration();
      } else if (key == "gap") {
        spec.gap = duration();
      } else if (key == "gap_random") {
        spec.gap_random = duration();
      } else if (key == "chunks") {
        spec.chunks = v.as<int>();
      } else if (key == "tokens_per_chunk") {
        spec.tokens_per_chunk = v.as<int>();
      } else if (key == "role_chunk") {
        spec.role_chunk = v.as<bool>();
      } else if (key == "usage") {
        spec.usage = v.as<bool>();
      } else if (key == "ping_every") {
        spec.ping_every = v.as<int>();
      } else if (key == "comments") {
        spec.comments = v.as<bool>();
      } else if (key == "line_ending") {
        const auto s = v.Scalar();
        if (s == "lf") {
          spec.line_ending = "\n";
        } else if (s == "crlf") {
          spec.line_ending = "\r\n";
        } else if (s == "cr") {
          spec.line_ending = "\r";
        } else {
          throw std::runtime_error("line_ending must be lf, crlf or cr");
        }
      } else if (key == "error_after") {
        spec.error_after = v.as<int>();
      } else if (key == "truncate_after") {
        spec.truncate_after = v.as<int>();
      } else if (key == "malformed_after") {
        spec.malformed_after = v.as<int>();
      } else if (key == "no_tokens") {
        spec.no_tokens = v.as<bool>();
      } else if (key == "chunked") {
        spec.chunked = v.as<bool>();
      } else if (key == "hold") {
        spec.hold = duration();
      } else {
        throw std::runtime_error("unknown key '" + key + "'");
      }
    } catch (const YAML::Exception& e) {
      throw std::runtime_error("line " + std::to_string(kv.first.Mark().line + 1) +
                               ": bad value for '" + key + "': " + e.msg);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error("line " + std::to_string(kv.first.Mark().line + 1) + ": " +
                               e.what());
    }
  }
  return spec;
}

}  // namespace sloprobe::testbed
