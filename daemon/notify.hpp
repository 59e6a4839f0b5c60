#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sloprobe::daemon {

// systemd's service notification protocol (sd_notify(3)) for Type=notify.
// Every call is a no-op when the service manager did not set NOTIFY_SOCKET,
// so the daemon runs the same by hand, in tests and under systemd.
class Notifier {
 public:
  Notifier();

  // READY=1, with a STATUS= line for `systemctl status`.
  void Ready(std::string_view status);
  // RELOADING=1 with MONOTONIC_USEC= (systemd 253 checks it; 252 ignores
  // it), before a reload; Ready() follows when it is done.
  void Reloading();
  void Stopping();
  void Watchdog();

  // How often to send WATCHDOG=1: half of WatchdogSec=, if the manager asked
  // for pings (WATCHDOG_USEC, and WATCHDOG_PID naming this process if set).
  std::optional<std::chrono::microseconds> WatchdogPeriod() const { return watchdog_period_; }

 private:
  void Send(const std::string& state);
  std::optional<std::chrono::microseconds> watchdog_period_;
};

// The one listening TCP socket systemd passed (sd_listen_fds(3), from a
// .socket unit), or nullopt with `error` saying what was passed instead.
std::optional<int> SystemdListenSocket(std::string& error);

// Whether the scheduler loop is alive: running, and not waiting past the
// time it meant to wake by more than `tolerance`. The watchdog pings only
// while this holds, so a loop that died or stalled gets the service
// restarted even though the process still answers HTTP.
bool LoopProgressing(bool running, std::optional<std::chrono::steady_clock::time_point> wake_at,
                     std::chrono::steady_clock::time_point now,
                     std::chrono::steady_clock::duration tolerance);

}  // namespace sloprobe::daemon
