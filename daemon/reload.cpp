#include "daemon/reload.hpp"

#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "daemon/log.hpp"

namespace sloprobe::daemon {

namespace json = boost::json;

namespace {

std::string PathIn(const std::string& directory) { return directory + "/" + kReloadStatusFile; }

// CLOCK_MONOTONIC (steady_clock here) is one clock for every process.
std::int64_t MonotonicNs(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::string Summary(const ReloadOutcome& o) {
  return std::to_string(o.unchanged) + " unchanged, " + std::to_string(o.changed) + " changed, " +
         std::to_string(o.added) + " added, " + std::to_string(o.removed) + " removed";
}

}  // namespace

std::string RuntimeDirectory() {
  // Read once at start, before any thread; nothing sets the environment.
  const char* dir = std::getenv("RUNTIME_DIRECTORY");  // NOLINT(concurrency-mt-unsafe)
  return dir == nullptr ? std::string() : std::string(dir);
}

ReloadStatusWriter::ReloadStatusWriter(std::string directory) : directory_(std::move(directory)) {}

void ReloadStatusWriter::Started() {
  ReloadOutcome started;
  started.ok = true;
  Write(started);
}

void ReloadStatusWriter::Record(const ReloadOutcome& outcome) {
  ++generation_;
  Write(outcome);
}

void ReloadStatusWriter::Write(const ReloadOutcome& outcome) {
  if (directory_.empty()) return;
  json::array errors;
  for (const auto& e : outcome.errors) errors.emplace_back(e);
  const json::object status{{"pid", static_cast<std::int64_t>(::getpid())},
                            {"generation", generation_},
                            {"ok", outcome.ok},
                            {"errors", std::move(errors)},
                            {"unchanged", outcome.unchanged},
                            {"changed", outcome.changed},
                            {"added", outcome.added},
                            {"removed", outcome.removed},
                            {"read_at_ns", MonotonicNs(outcome.read_at)}};
  // Written beside the file and renamed over it, so a reader sees the old
  // outcome or the new one, never half of one.
  const auto path = PathIn(directory_);
  const auto temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << json::serialize(status) << '\n';
    if (!out.flush()) {
      LogWarn("cannot write the reload status", {{"file", temporary}});
      return;
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    LogWarn("cannot write the reload status", {{"file", path}, {"error", std::strerror(errno)}});
  }
}

std::optional<ReloadStatus> ReadReloadStatus(const std::string& directory) {
  std::ifstream in(PathIn(directory), std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  const auto value = json::parse(text.str(), ec);
  if (ec || !value.is_object()) return std::nullopt;
  const auto& o = value.as_object();
  ReloadStatus status;
  try {
    status.pid = static_cast<long>(o.at("pid").to_number<std::int64_t>());
    status.generation = o.at("generation").to_number<std::uint64_t>();
    status.outcome.ok = o.at("ok").as_bool();
    for (const auto& e : o.at("errors").as_array()) {
      status.outcome.errors.emplace_back(e.as_string());
    }
    status.outcome.unchanged = o.at("unchanged").to_number<std::size_t>();
    status.outcome.changed = o.at("changed").to_number<std::size_t>();
    status.outcome.added = o.at("added").to_number<std::size_t>();
    status.outcome.removed = o.at("removed").to_number<std::size_t>();
    status.outcome.read_at = std::chrono::steady_clock::time_point(
        std::chrono::nanoseconds(o.at("read_at_ns").to_number<std::int64_t>()));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return status;
}

int RequestReload(const ReloadRequest& request, std::ostream& out, std::ostream& err) {
  if (request.pid <= 0) {
    err << "sloprobe reload: --pid must name the running daemon's process\n";
    return kReloadNotAsked;
  }
  if (request.directory.empty()) {
    err << "sloprobe reload: $RUNTIME_DIRECTORY is not set; the daemon reports its reloads "
           "there (RuntimeDirectory= in the unit). Without systemd, send SIGHUP and read the "
           "log\n";
    return kReloadNotAsked;
  }
  const auto pid = static_cast<pid_t>(request.pid);
  const auto before = ReadReloadStatus(request.directory);
  if (!before || before->pid != request.pid) {
    err << "sloprobe reload: process " << request.pid << " has not written "
        << PathIn(request.directory)
        << "; is it sloprobe, started with this $RUNTIME_DIRECTORY? Nothing was sent\n";
    return kReloadNotAsked;
  }
  // A reload that read the file before the signal (another client's, or
  // POST /-/reload) may not have seen the change this one is about.
  const auto sent = std::chrono::steady_clock::now();
  if (::kill(pid, SIGHUP) != 0) {
    err << "sloprobe reload: cannot signal process " << request.pid << ": " << std::strerror(errno)
        << '\n';
    return kReloadNotAsked;
  }
  const auto deadline = std::chrono::steady_clock::now() + request.timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto now = ReadReloadStatus(request.directory);
    if (now && now->pid == request.pid && now->generation > before->generation &&
        now->outcome.read_at >= sent) {
      if (now->outcome.ok) {
        out << "configuration reloaded: " << Summary(now->outcome) << '\n';
        return kReloadDone;
      }
      for (const auto& e : now->outcome.errors) err << e << '\n';
      err << "configuration reload failed; the running configuration is unchanged\n";
      return kReloadRejected;
    }
    if (::kill(pid, 0) != 0 && errno == ESRCH) {
      err << "sloprobe reload: process " << request.pid << " exited during the reload\n";
      return kReloadRejected;
    }
    std::this_thread::sleep_for(request.poll);
  }
  err << "sloprobe reload: no outcome from process " << request.pid << " within "
      << std::chrono::duration_cast<std::chrono::seconds>(request.timeout).count() << " s\n";
  return kReloadRejected;
}

}  // namespace sloprobe::daemon
