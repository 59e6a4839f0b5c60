#include "daemon/scheduler.hpp"

#include <algorithm>

namespace sloprobe::daemon {

Scheduler::Scheduler(std::uint64_t seed) : rng_(seed) {}

Scheduler::Duration Scheduler::SpreadOffset(std::string_view name, Duration interval) {
  // FNV-1a: stable across builds, platforms and runs, unlike std::hash.
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  const auto ticks = static_cast<std::uint64_t>(interval.count());
  if (ticks == 0) return Duration::zero();
  return Duration(static_cast<Duration::rep>(h % ticks));
}

Scheduler::TimePoint Scheduler::DueOf(const Entry& e) {
  if (e.options.jitter <= Duration::zero()) return e.planned;
  std::uniform_int_distribution<Duration::rep> dist(0, e.options.jitter.count() - 1);
  return e.planned + Duration(dist(rng_));
}

Scheduler::ProbeId Scheduler::Add(std::string_view name, Options options, TimePoint epoch) {
  const ProbeId id = entries_.size();
  Entry e;
  e.options = options;
  e.planned = epoch + SpreadOffset(name, options.interval);
  e.active = true;
  entries_.push_back(e);
  heap_.push({DueOf(entries_.back()), id});
  return id;
}

void Scheduler::Remove(ProbeId id) { entries_[id].active = false; }

std::optional<Scheduler::TimePoint> Scheduler::NextDue() const {
  // Removed probes' slots are dropped lazily by Collect; they only make the
  // caller wake early once.
  if (heap_.empty()) return std::nullopt;
  return heap_.top().due;
}

void Scheduler::Collect(TimePoint now, std::vector<Action>& out) {
  while (!heap_.empty() && heap_.top().due <= now) {
    const Slot slot = heap_.top();
    heap_.pop();
    Entry& e = entries_[slot.probe];
    if (!e.active) continue;
    if (slot.due < e.hold_until) {
      out.push_back({Action::Kind::kPostpone, slot.probe, slot.due});
    } else if (e.in_flight < e.options.max_in_flight) {
      ++e.in_flight;
      out.push_back({Action::Kind::kStart, slot.probe, slot.due});
    } else {
      out.push_back({Action::Kind::kSkip, slot.probe, slot.due});
    }
    e.planned += e.options.interval;
    heap_.push({DueOf(e), slot.probe});
  }
}

void Scheduler::Postpone(ProbeId id, TimePoint until) {
  entries_[id].hold_until = std::max(entries_[id].hold_until, until);
}

void Scheduler::Finished(ProbeId id) {
  if (entries_[id].in_flight > 0) --entries_[id].in_flight;
}

}  // namespace sloprobe::daemon
