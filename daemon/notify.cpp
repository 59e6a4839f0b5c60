#include "daemon/notify.hpp"

#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdint>

namespace sloprobe::daemon {

Notifier::Notifier() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_period_ = std::chrono::microseconds(usec / 2);
  }
}

void Notifier::Send(const std::string& state) {
  // Failing to notify must not stop the service; systemd reports a missing
  // READY=1 by itself.
  (void)sd_notify(0, state.c_str());
}

void Notifier::Ready(std::string_view status) { Send("READY=1\nSTATUS=" + std::string(status)); }

void Notifier::Reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000 +
                    static_cast<std::uint64_t>(ts.tv_nsec) / 1'000;
  Send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) +
       "\nSTATUS=Reloading the configuration");
}

void Notifier::Stopping() { Send("STOPPING=1\nSTATUS=Stopping"); }

void Notifier::Watchdog() { Send("WATCHDOG=1"); }

std::optional<int> SystemdListenSocket(std::string& error) {
  const int n = sd_listen_fds(1);
  if (n < 0) {
    error = "cannot read the sockets passed by systemd (LISTEN_FDS)";
    return std::nullopt;
  }
  if (n != 1) {
    error = "--web.systemd-socket needs exactly one socket from systemd, got " + std::to_string(n) +
            " (check ListenStream= in sloprobe.socket)";
    return std::nullopt;
  }
  const int fd = SD_LISTEN_FDS_START;
  if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) <= 0) {
    error = "the socket passed by systemd is not a listening TCP socket";
    return std::nullopt;
  }
  return fd;
}

bool LoopProgressing(bool running, std::optional<std::chrono::steady_clock::time_point> wake_at,
                     std::chrono::steady_clock::time_point now,
                     std::chrono::steady_clock::duration tolerance) {
  if (!running) return false;
  return !wake_at || now <= *wake_at + tolerance;
}

}  // namespace sloprobe::daemon
