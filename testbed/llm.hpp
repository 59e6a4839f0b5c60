#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "testbed/testbed.hpp"

// The fake LLM endpoints' content: what each API dialect streams for a
// request, as a script of events with the waits before them. The session
// in testbed.cpp plays the script on the socket.
namespace sloprobe::testbed {

enum class LlmDialect { kOpenAi, kAnthropic, kOllama };

// The dialect served at `path`, if it is an LLM endpoint.
std::optional<LlmDialect> LlmEndpoint(std::string_view path);

// The platform's own chat endpoint: OpenAI's dialect behind the platform's
// login (a bearer token from /auth/login) instead of an LLM API key.
inline constexpr std::string_view kAgentChatPath = "/agent/v1/chat/completions";
// The platform's WebSocket: /ws/echo behind the same login.
inline constexpr std::string_view kAgentWebSocketPath = "/ws/agent";

struct StreamEvent {
  std::string bytes;  // an SSE event (or NDJSON line) with its line endings
  bool token = false;
  Duration wait{};  // before writing it, after the previous event
};

struct LlmScript {
  // Set when the request is answered with one whole response instead (an
  // error, or stream: false).
  std::optional<boost::beast::http::response<boost::beast::http::string_body>> whole;
  std::string content_type;
  std::vector<StreamEvent> events;
  bool cut = false;  // close the connection after the last event, body unfinished
};

// Checks the request (auth, shape) and writes the script `spec` asks for.
LlmScript ScriptLlm(LlmDialect dialect,
                    const boost::beast::http::request<boost::beast::http::string_body>& req,
                    const StreamSpec& spec, const std::string& api_key, std::mt19937_64& rng);

}  // namespace sloprobe::testbed
