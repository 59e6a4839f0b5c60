#include "daemon/otlp_exporter.hpp"

#include <malloc.h>
#include <zlib.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <deque>
#include <random>
#include <stdexcept>
#include <thread>

#include "daemon/log.hpp"
#include "probes/common/http_client.hpp"
#include "probes/common/http_date.hpp"
#include "probes/common/reason.hpp"

namespace sloprobe::daemon {

namespace asio = boost::asio;

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kFirstBackoff = std::chrono::seconds(1);
constexpr auto kMaxBackoff = std::chrono::seconds(30);
// A snapshot is given up after this long; a newer one says more by then.
constexpr auto kGiveUpAfter = std::chrono::minutes(5);

std::uint64_t UnixNanos() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// Reads a varint at `at`; false when the bytes end first.
bool ReadVarint(std::string_view b, std::size_t& at, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; at < b.size() && shift < 64; shift += 7) {
    const auto byte = static_cast<unsigned char>(b[at++]);
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

struct PartialSuccess {
  std::int64_t rejected = 0;
  std::string message;
};

// ExportMetricsServiceResponse.partial_success (field 1) holds
// rejected_data_points (1, int64) and error_message (2, string). Unknown
// fields are skipped; a body that does not parse says nothing.
PartialSuccess ReadPartialSuccess(std::string_view body, bool json) {
  PartialSuccess out;
  if (json) {
    boost::system::error_code ec;
    const auto v = boost::json::parse(body, ec);
    if (ec || !v.is_object()) return out;
    const auto* ps = v.as_object().if_contains("partialSuccess");
    if (ps == nullptr || !ps->is_object()) return out;
    if (const auto* r = ps->as_object().if_contains("rejectedDataPoints")) {
      if (r->is_string()) out.rejected = std::atoll(r->as_string().c_str());
      if (r->is_int64()) out.rejected = r->as_int64();
    }
    if (const auto* m = ps->as_object().if_contains("errorMessage"); m && m->is_string()) {
      out.message = m->as_string();
    }
    return out;
  }
  auto fields = [](std::string_view b, auto&& on_field) {
    std::size_t at = 0;
    while (at < b.size()) {
      std::uint64_t tag = 0, len = 0;
      if (!ReadVarint(b, at, tag)) return;
      switch (tag & 7) {
        case 0:
          if (!ReadVarint(b, at, len)) return;
          on_field(tag >> 3, len, std::string_view{});
          break;
        case 1:
          at += 8;
          break;
        case 2:
          if (!ReadVarint(b, at, len) || len > b.size() - at) return;
          on_field(tag >> 3, 0, b.substr(at, len));
          at += len;
          break;
        case 5:
          at += 4;
          break;
        default:
          return;
      }
    }
  };
  fields(body, [&](std::uint64_t field, std::uint64_t, std::string_view bytes) {
    if (field != 1) return;
    fields(bytes, [&](std::uint64_t f, std::uint64_t number, std::string_view text) {
      if (f == 1) out.rejected = static_cast<std::int64_t>(number);
      if (f == 2) out.message = std::string(text);
    });
  });
  return out;
}

bool Retryable(const probes::FetchResult& r) {
  if (r.response) {
    const int s = r.response->status;
    return s == 429 || s == 502 || s == 503 || s == 504;
  }
  // Connection-level failures may pass; a certificate that does not verify
  // or a body over the limit will not.
  return r.reason == probes::Reason::kDns || r.reason == probes::Reason::kConnect ||
         r.reason == probes::Reason::kTimeout || r.reason == probes::Reason::kProtocol ||
         r.reason == probes::Reason::kTruncated;
}

}  // namespace

std::string Gzip(std::string_view data) {
  z_stream z{};
  // 15 window bits + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("gzip: cannot initialise zlib");
  }
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip: deflate did not finish");
  return out;
}

struct OtlpExporter::State : std::enable_shared_from_this<OtlpExporter::State> {
  State(asio::io_context& context, config::OtlpConfig c, Collect collect_fn,
        prometheus::Registry& registry, otlp::Attributes base, std::string v)
      : io(context),
        config(std::move(c)),
        collect(std::move(collect_fn)),
        version(std::move(v)),
        starts(UnixNanos()),
        tick(io),
        backoff_timer(io),
        client(io.get_executor(), config.tls, std::make_shared<probes::TlsContexts>(),
               config.endpoint.scheme_id() == boost::urls::scheme::https),
        exports(prometheus::BuildCounter()
                    .Name("sloprobe_otlp_exports_total")
                    .Help("OTLP export attempts by result: success, retry (a retryable failure, "
                          "sent again), rejected (a status not worth retrying), failed (given "
                          "up), dropped (queue full).")
                    .Register(registry)),
        duration(prometheus::BuildHistogram()
                     .Name("sloprobe_otlp_export_duration_seconds")
                     .Help("Time of one OTLP export request, retries counted apart.")
                     .Register(registry)),
        snapshot_duration(prometheus::BuildHistogram()
                              .Name("sloprobe_otlp_snapshot_duration_seconds")
                              .Help("Time to take one OTLP snapshot: collect, encode and "
                                    "compress.")
                              .Register(registry)),
        rng(std::random_device{}()) {
    // The configured attributes win over sloprobe's own.
    for (const auto& attribute : config.resource) {
      std::erase_if(base, [&](const auto& a) { return a.first == attribute.first; });
    }
    resource = std::move(base);
    resource.insert(resource.end(), config.resource.begin(), config.resource.end());
    const bool json = config.encoding == config::OtlpConfig::Encoding::kJson;
    request.method = "POST";
    request.url = config.endpoint;
    request.keep_alive = true;
    request.tls = config.tls;
    request.headers = config.headers;
    request.headers.push_back(
        {"Content-Type", json ? "application/json" : "application/x-protobuf"});
    if (config.gzip) request.headers.push_back({"Content-Encoding", "gzip"});
  }

  // The series exist while the exporter runs. prometheus-cpp hands out the
  // same series for the same labels, so a replaced exporter must have
  // removed its own before the new one adds them.
  void AddSeries() {
    for (const char* result : {"success", "retry", "rejected", "failed", "dropped"}) {
      results.emplace(result, &exports.Add({{"result", result}}));
    }
    const prometheus::Histogram::BucketBoundaries bounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                         0.5,   1,    2.5,   5,    10};
    duration_series = &duration.Add({}, bounds);
    snapshot_series = &snapshot_duration.Add({}, bounds);
  }

  ~State() {
    for (auto& [name, counter] : results) exports.Remove(counter);
    if (duration_series != nullptr) duration.Remove(duration_series);
    if (snapshot_series != nullptr) snapshot_duration.Remove(snapshot_series);
  }

  std::string Snapshot() {
    const auto started = Clock::now();
    const auto sources = collect();
    std::string body = otlp::EncodeSnapshot(config.encoding == config::OtlpConfig::Encoding::kJson
                                                ? otlp::Encoding::kJson
                                                : otlp::Encoding::kProtobuf,
                                            sources.families, starts, sources.store.get(),
                                            sources.external, UnixNanos(), resource, version);
    if (config.gzip) body = Gzip(body);
    ::malloc_trim(0);  // as after a scrape: the snapshot's blocks are free again
    if (snapshot_series != nullptr) {
      snapshot_series->Observe(std::chrono::duration<double>(Clock::now() - started).count());
    }
    return body;
  }

  void Enqueue() {
    queue.push_back(Snapshot());
    if (queue.size() > kMaxQueued) {
      // The oldest waiting one: the front is being sent while `sending`.
      queue.erase(queue.begin() + (sending ? 1 : 0));
      results["dropped"]->Increment();
    }
    if (!sending) asio::co_spawn(io, Send(shared_from_this()), asio::detached);
  }

  static asio::awaitable<void> Ticks(std::shared_ptr<State> self) {
    while (!self->stopping) {
      self->tick.expires_after(self->config.interval);
      auto [ec] = co_await self->tick.async_wait(kTuple);
      if (ec || self->stopping) co_return;
      self->Enqueue();
    }
  }

  static asio::awaitable<void> Send(std::shared_ptr<State> self) {
    self->sending = true;
    while (!self->queue.empty()) {
      // The front stays in place while it is sent (Enqueue drops the one
      // behind it), empty: its bytes are in the request, not copied there.
      self->request.body = std::move(self->queue.front());
      co_await self->Deliver();
      std::string().swap(self->request.body);  // tens of megabytes at 10,000 probes
      self->queue.pop_front();
    }
    self->sending = false;
    if (self->stopping) self->io.stop();
  }

  // Sends request.body until it is taken, given up on or rejected.
  asio::awaitable<void> Deliver() {
    auto backoff = std::chrono::duration_cast<Clock::duration>(kFirstBackoff);
    const auto give_up = Clock::now() + kGiveUpAfter;
    for (;;) {
      auto deadline = Clock::now() + config.timeout;
      if (stopping) deadline = std::min(deadline, stop_deadline);
      const auto started = Clock::now();
      const auto r = co_await client.Fetch(request, deadline);
      duration_series->Observe(std::chrono::duration<double>(Clock::now() - started).count());
      if (r.response && r.response->status >= 200 && r.response->status < 300) {
        results["success"]->Increment();
        const auto ps = ReadPartialSuccess(r.response->body,
                                           config.encoding == config::OtlpConfig::Encoding::kJson);
        if (ps.rejected != 0 || !ps.message.empty()) {
          LogWarn("OTLP endpoint accepted the export in part",
                  {{"rejected_data_points", std::to_string(ps.rejected)}, {"message", ps.message}});
        }
        failing = false;
        co_return;
      }
      const std::string what = r.response
                                   ? "status " + std::to_string(r.response->status)
                                   : std::string(probes::ReasonName(r.reason)) + ": " + r.detail;
      if (!Retryable(r)) {
        results["rejected"]->Increment();
        LogWarn("OTLP endpoint rejected the export; not retrying", {{"error", what}});
        co_return;
      }
      auto wait = backoff / 2 + Clock::duration(std::uniform_int_distribution<Clock::rep>(
                                    0, (backoff / 2).count())(rng));
      if (r.response) {
        if (auto it = r.response->headers.find("Retry-After"); it != r.response->headers.end()) {
          if (auto after = probes::ParseRetryAfter(std::string(it->value()),
                                                   std::chrono::system_clock::now())) {
            wait = std::min<Clock::duration>(*after, kMaxBackoff);
          }
        }
      }
      if (stopping || Clock::now() + wait > give_up) {
        results["failed"]->Increment();
        LogWarn("OTLP export failed; giving up on this snapshot", {{"error", what}});
        co_return;
      }
      results["retry"]->Increment();
      if (!failing) LogWarn("OTLP export failed; retrying", {{"error", what}});
      failing = true;
      backoff_timer.expires_after(wait);
      co_await backoff_timer.async_wait(kTuple);
      backoff = std::min<Clock::duration>(backoff * 2, kMaxBackoff);
    }
  }

  asio::io_context& io;  // owned by OtlpExporter, outlives the coroutines' hold on this
  config::OtlpConfig config;
  Collect collect;
  std::string version;
  otlp::Attributes resource;
  otlp::StartTimes starts;
  asio::steady_timer tick;
  asio::steady_timer backoff_timer;
  probes::HttpClient client;
  config::HttpRequest request;
  prometheus::Family<prometheus::Counter>& exports;
  prometheus::Family<prometheus::Histogram>& duration;
  std::map<std::string, prometheus::Counter*> results;
  prometheus::Family<prometheus::Histogram>& snapshot_duration;
  prometheus::Histogram* duration_series = nullptr;
  prometheus::Histogram* snapshot_series = nullptr;
  std::mt19937_64 rng;
  std::deque<std::string> queue;
  bool sending = false;
  bool stopping = false;
  bool failing = false;
  Clock::time_point stop_deadline{};
  std::thread thread;
};

OtlpExporter::OtlpExporter(config::OtlpConfig config, Collect collect,
                           prometheus::Registry& self_metrics, otlp::Attributes resource,
                           std::string version)
    : io_(std::make_unique<asio::io_context>(1)),
      state_(std::make_shared<State>(*io_, std::move(config), std::move(collect), self_metrics,
                                     std::move(resource), std::move(version))) {}

OtlpExporter::~OtlpExporter() {
  if (state_->thread.joinable()) {
    BeginStop(Clock::now());
    Join();
  }
  // Destroying the context destroys the coroutines still suspended in it,
  // and with them their references to the state.
  state_.reset();
  io_.reset();
}

void OtlpExporter::Start() {
  state_->AddSeries();
  asio::co_spawn(state_->io, State::Ticks(state_), asio::detached);
  state_->thread = std::thread([s = state_] {
    auto guard = asio::make_work_guard(s->io);
    s->io.run();
  });
}

void OtlpExporter::BeginStop(Clock::time_point deadline) {
  asio::post(state_->io, [s = state_, deadline] {
    if (s->stopping) return;
    s->stopping = true;
    s->stop_deadline = deadline;
    s->tick.cancel();
    s->backoff_timer.cancel();
    // The last snapshot, sent until the deadline; then the thread ends.
    s->Enqueue();
    auto hard = std::make_shared<asio::steady_timer>(s->io, deadline);
    hard->async_wait([s, hard](boost::system::error_code) { s->io.stop(); });
  });
}

void OtlpExporter::Join() {
  if (state_->thread.joinable()) state_->thread.join();
}

const config::OtlpConfig& OtlpExporter::Config() const { return state_->config; }

}  // namespace sloprobe::daemon
