#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <queue>
#include <random>
#include <string_view>
#include <vector>

namespace sloprobe::daemon {

// Decides when probes run; does no I/O and reads no clock, so that tests can
// drive it with any time they like.
//
// Fixed rate: the n-th planned start of a probe is first + n * interval, so
// starts never drift however late a run finishes. First starts are spread over
// the interval by a hash of the probe name (deterministic across restarts and
// machines). Optional jitter delays each start by a random amount below
// `jitter` without moving the grid. A planned start that finds `max_in_flight`
// runs still going is skipped and reported, never queued: delaying it would
// hide exactly the slowness being measured (coordinated omission).
class Scheduler {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  using Duration = Clock::duration;
  using ProbeId = std::size_t;

  struct Options {
    Duration interval{};
    Duration jitter{};
    int max_in_flight = 1;
  };

  struct Action {
    enum class Kind {
      kStart,
      kSkip,      // max_in_flight runs still going
      kPostpone,  // the probe is held back by Postpone()
    };
    Kind kind = Kind::kStart;
    ProbeId probe = 0;
    TimePoint due{};  // planned start plus this slot's jitter
  };

  explicit Scheduler(std::uint64_t seed = 0x5eed);

  // `epoch` is the start of the first interval; the first run is planned at
  // epoch + SpreadOffset(name, interval).
  ProbeId Add(std::string_view name, Options options, TimePoint epoch);

  // Stops planning the probe; its in-flight runs may still call Finished.
  void Remove(ProbeId id);

  // The earliest due time of any probe, if there is one.
  std::optional<TimePoint> NextDue() const;

  // Appends one action for every slot due at or before `now`, in due order,
  // and plans each probe's next slot.
  void Collect(TimePoint now, std::vector<Action>& out);

  // A run started by a kStart action has ended.
  void Finished(ProbeId id);

  // Holds the probe back until `until`: slots due before then are reported
  // as kPostpone instead of starting. The grid does not move. A later call
  // can only extend the hold.
  void Postpone(ProbeId id, TimePoint until);

  int InFlight(ProbeId id) const { return entries_[id].in_flight; }

  static Duration SpreadOffset(std::string_view name, Duration interval);

 private:
  struct Entry {
    Options options;
    TimePoint planned{};  // on the fixed grid
    TimePoint hold_until{};
    int in_flight = 0;
    bool active = false;
  };
  struct Slot {
    TimePoint due{};
    ProbeId probe = 0;
    bool operator>(const Slot& o) const { return due != o.due ? due > o.due : probe > o.probe; }
  };

  TimePoint DueOf(const Entry& e);

  std::vector<Entry> entries_;
  std::priority_queue<Slot, std::vector<Slot>, std::greater<>> heap_;
  std::mt19937_64 rng_;
};

}  // namespace sloprobe::daemon
