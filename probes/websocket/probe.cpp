#include "probes/websocket/probe.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "probes/common/expect.hpp"

namespace sloprobe::probes {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::system::error_code;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// Why a read or write on an open WebSocket failed.
void Classify(const error_code& ec, std::string_view doing, StepResult& out,
              const websocket::close_reason& closed) {
  if (IsTimeout(ec)) {
    out.reason = Reason::kTimeout;
    out.detail = "timed out " + std::string(doing);
  } else if (ec == websocket::error::closed) {
    out.reason = Reason::kProtocol;
    out.detail = "the server closed the WebSocket (code " + std::to_string(closed.code) +
                 (closed.reason.empty() ? "" : ", '" + Excerpt(closed.reason.c_str()) + "'") +
                 ") " + std::string(doing);
  } else if (ec == websocket::error::message_too_big || ec == websocket::error::buffer_overflow) {
    out.reason = Reason::kBodyTooLarge;
    out.detail = "a message over 'body_limit' " + std::string(doing);
  } else {
    out.reason = Reason::kProtocol;
    out.detail = std::string(doing) + ": " + ec.message();
  }
}

// The upgrade, then the messages, over `ws` (plain or TLS).
template <class Ws>
asio::awaitable<void> Converse(Ws& ws, beast::tcp_stream& lowest,
                               const config::HttpRequest& request,
                               const config::WebSocketExchange& x, Clock::time_point started,
                               Clock::time_point deadline, const config::Redactor& secrets,
                               StepResult& step) {
  // One deadline for everything, on the socket, as for HTTP; the WebSocket
  // stream's own timers are off.
  lowest.expires_at(deadline);
  ws.set_option(websocket::stream_base::timeout{websocket::stream_base::none(),
                                                websocket::stream_base::none(), false});
  ws.set_option(websocket::stream_base::decorator([&request](websocket::request_type& req) {
    req.set(beast::http::field::user_agent, kUserAgent);
    for (const auto& h : request.headers) req.set(h.name, h.value);
  }));
  ws.read_message_max(request.body_limit);

  websocket::response_type response;
  auto t0 = Clock::now();
  auto [hec] = co_await ws.async_handshake(response, HostHeader(request.url),
                                           RequestTarget(request.url), kTuple);
  step.status = static_cast<int>(response.result_int());
  if (hec) {
    if (IsTimeout(hec)) {
      step.reason = Reason::kTimeout;
      step.detail = "timed out in the WebSocket upgrade";
    } else if (hec == websocket::error::upgrade_declined && step.status != 0) {
      const int s = step.status;
      step.reason = s == 429               ? Reason::kRateLimited
                    : s == 401 || s == 403 ? Reason::kAuth
                                           : Reason::kHttpStatus;
      step.detail = "upgrade refused: status " + std::to_string(s) + ", expected 101";
    } else {
      step.reason = Reason::kProtocol;
      step.detail = "WebSocket upgrade failed: " + hec.message();
    }
    co_return;
  }
  step.phases.upgrade = Clock::now() - t0;

  beast::flat_buffer buffer;
  for (int i = 0; i < x.messages; ++i) {
    const std::string which =
        "message " + std::to_string(i + 1) + " of " + std::to_string(x.messages);
    ws.text(true);
    t0 = Clock::now();
    auto [wec, written] = co_await ws.async_write(asio::buffer(x.send), kTuple);
    if (wec) {
      Classify(wec, "sending " + which, step, ws.reason());
      co_return;
    }
    int skipped = 0;
    for (;;) {
      buffer.clear();
      auto [rec, n] = co_await ws.async_read(buffer, kTuple);
      if (rec) {
        Classify(rec,
                 "waiting for the reply to " + which +
                     (skipped > 0 ? " (" + std::to_string(skipped) + " other messages came)" : ""),
                 step, ws.reason());
        co_return;
      }
      const auto at = Clock::now();
      HttpResponse reply;
      reply.status = 200;
      reply.body = beast::buffers_to_string(buffer.data());
      if (!CheckResponse(reply, x.reply, &secrets)) {
        step.round_trips.push_back(at - t0);
        break;
      }
      ++skipped;  // a message that is not the reply: a push, a heartbeat
    }
  }
  step.duration = Clock::now() - started;  // the close that follows is not part of the run
}

// A close frame, and the server's in answer, for at most a second: the run
// is measured already, but a server should see a clean goodbye.
template <class Ws>
asio::awaitable<void> Close(Ws& ws, beast::tcp_stream& lowest, Clock::time_point deadline) {
  lowest.expires_at(std::min(deadline, Clock::now() + std::chrono::seconds(1)));
  co_await ws.async_close(websocket::close_code::normal, kTuple);
}

}  // namespace

asio::awaitable<std::optional<std::int64_t>> ExchangeWebSocket(
    HttpClient& client, const config::HttpRequest& request,
    const config::WebSocketExchange& exchange, Clock::time_point started,
    Clock::time_point deadline, const config::Redactor& scrub, StepResult& step) {
  FetchResult connect;
  auto conn = co_await client.Connect(request.url, deadline, connect);
  step.phases = connect.phases;
  if (!conn) {
    step.reason = connect.reason;
    step.detail = std::move(connect.detail);
  } else if (conn->secure) {
    websocket::stream<beast::ssl_stream<beast::tcp_stream>&> ws(*conn->secure);
    co_await Converse(ws, conn->Lowest(), request, exchange, started, deadline, scrub, step);
    if (step.Ok()) co_await Close(ws, conn->Lowest(), deadline);
  } else {
    websocket::stream<beast::tcp_stream&> ws(*conn->plain);
    co_await Converse(ws, conn->Lowest(), request, exchange, started, deadline, scrub, step);
    if (step.Ok()) co_await Close(ws, conn->Lowest(), deadline);
  }
  if (!step.Ok()) {
    step.duration = Clock::now() - started;
    if (!scrub.Empty()) step.detail = scrub.Redact(step.detail);
  }
  co_return connect.cert_not_after;
}

WebSocketProbe::WebSocketProbe(config::ProbeConfig config, asio::any_io_executor executor,
                               std::shared_ptr<TlsContexts> tls,
                               std::shared_ptr<const config::Redactor> secrets)
    : config_(std::move(config)),
      client_(std::move(executor), config_.request.tls, std::move(tls),
              UsesTls(config_.request.url)),
      secrets_(std::move(secrets)) {}

asio::awaitable<ProbeResult> WebSocketProbe::Run() {
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::duration_cast<Duration>(config_.timeout);
  StepResult step;
  step.name = std::string(kRequestStep);
  ProbeResult result;
  result.cert_not_after = co_await ExchangeWebSocket(client_, config_.request, config_.websocket,
                                                     started, deadline, *secrets_, step);
  result.reason = step.reason;
  result.duration = step.duration;
  // The probe's own exchange: its results are the run's.
  result.round_trips = std::move(step.round_trips);
  step.round_trips.clear();
  if (!result.Ok()) {
    result.step = step.name;
    result.detail = step.detail;
  }
  step.detail.clear();
  result.steps.push_back(std::move(step));
  co_return result;
}

}  // namespace sloprobe::probes
