#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "daemon/daemon.hpp"

namespace sloprobe::daemon {

// `systemctl reload` runs ExecReload= and reports that command's exit
// status. A signal alone cannot say whether the daemon took the new
// configuration, so the daemon writes the outcome of every reload (SIGHUP or
// POST /-/reload) to a file in its runtime directory, and `sloprobe reload`
// sends the signal and waits for that outcome.

// The file, in $RUNTIME_DIRECTORY (RuntimeDirectory= in the unit).
inline constexpr const char* kReloadStatusFile = "reload.json";

struct ReloadStatus {
  long pid = 0;                  // the daemon that wrote it
  std::uint64_t generation = 0;  // reloads that process has finished; 0 at start
  ReloadOutcome outcome;
};

// The daemon's side: writes its reload outcomes into `directory`, or
// nowhere when it is empty.
class ReloadStatusWriter {
 public:
  explicit ReloadStatusWriter(std::string directory);
  // Writes generation 0: the daemon is up and will report its reloads.
  void Started();
  // Writes the next generation. Errors are already redacted.
  void Record(const ReloadOutcome& outcome);

 private:
  void Write(const ReloadOutcome& outcome);
  std::string directory_;
  std::uint64_t generation_ = 0;
};

// The file in `directory`, if it exists and parses.
std::optional<ReloadStatus> ReadReloadStatus(const std::string& directory);

// $RUNTIME_DIRECTORY, or empty.
std::string RuntimeDirectory();

struct ReloadRequest {
  long pid = 0;
  std::string directory;  // where the daemon writes its outcomes
  std::chrono::milliseconds timeout{60000};
  std::chrono::milliseconds poll{20};
};

inline constexpr int kReloadDone = 0;
inline constexpr int kReloadRejected = 1;  // refused, or no outcome in time
inline constexpr int kReloadNotAsked = 2;  // no daemon to ask

// Sends SIGHUP to `request.pid` and waits, at most `request.timeout`, until
// that process has finished a reload that read the file after the signal.
// Prints the outcome: a summary to `out`, or each located error to `err`.
int RequestReload(const ReloadRequest& request, std::ostream& out, std::ostream& err);

}  // namespace sloprobe::daemon
