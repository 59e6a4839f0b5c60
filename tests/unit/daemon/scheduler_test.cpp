#include "daemon/scheduler.hpp"

#include <gtest/gtest.h>

#include <map>

namespace sloprobe::daemon {
namespace {

using namespace std::chrono_literals;
using Action = Scheduler::Action;
const Scheduler::TimePoint kEpoch{std::chrono::hours(1000)};

TEST(Scheduler, FixedRateHasZeroDriftOver10000Intervals) {
  Scheduler s;
  const auto interval = std::chrono::duration_cast<Scheduler::Duration>(1s);
  const auto id = s.Add("health", {interval, {}, 1}, kEpoch);
  const auto first = kEpoch + Scheduler::SpreadOffset("health", interval);
  std::vector<Action> out;
  auto now = first;
  for (int i = 0; i < 10000; ++i) {
    // Runs take a varying time and the loop wakes late by a varying amount;
    // neither may move the grid.
    now = std::max(now, *s.NextDue()) + std::chrono::microseconds(i % 977);
    out.clear();
    s.Collect(now, out);
    ASSERT_EQ(out.size(), 1u) << i;
    ASSERT_EQ(out[0].kind, Action::Kind::kStart);
    ASSERT_EQ(out[0].due, first + i * interval) << "drift at run " << i;
    s.Finished(id);
  }
  EXPECT_EQ(*s.NextDue(), first + 10000 * interval);
}

TEST(Scheduler, SpreadIsDeterministicAndInsideTheInterval) {
  const auto interval = std::chrono::duration_cast<Scheduler::Duration>(10s);
  std::map<long, int> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto name = "probe-" + std::to_string(i);
    const auto offset = Scheduler::SpreadOffset(name, interval);
    EXPECT_EQ(offset, Scheduler::SpreadOffset(name, interval));
    EXPECT_GE(offset, Scheduler::Duration::zero());
    EXPECT_LT(offset, interval);
    ++seen[offset / std::chrono::seconds(1)];
  }
  // 1000 names over ten one-second buckets: none should be empty or hold
  // more than twice its share.
  ASSERT_EQ(seen.size(), 10u);
  for (const auto& [bucket, count] : seen) EXPECT_LT(count, 200) << bucket;
  // A fixed value guards against the hash changing between releases, which
  // would reshuffle every deployment's schedule.
  EXPECT_EQ(Scheduler::SpreadOffset("health", interval), Scheduler::Duration(9'905'877'455));
}

TEST(Scheduler, OverrunsAreSkippedAndCountedNotDelayed) {
  Scheduler s;
  const auto interval = std::chrono::duration_cast<Scheduler::Duration>(1s);
  const auto id = s.Add("slow", {interval, {}, 1}, kEpoch);
  std::vector<Action> out;
  auto due = *s.NextDue();
  s.Collect(due, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Action::Kind::kStart);
  // The run is still going three intervals later: three skips, no start.
  for (int i = 1; i <= 3; ++i) {
    out.clear();
    s.Collect(due + i * interval, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].kind, Action::Kind::kSkip);
    EXPECT_EQ(out[0].due, due + i * interval);
  }
  s.Finished(id);
  out.clear();
  s.Collect(due + 4 * interval, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Action::Kind::kStart);
  EXPECT_EQ(out[0].due, due + 4 * interval);  // on the grid, not shifted by the overrun
}

TEST(Scheduler, MaxInFlightAllowsOverlap) {
  Scheduler s;
  const auto interval = std::chrono::duration_cast<Scheduler::Duration>(100ms);
  s.Add("llm", {interval, {}, 2}, kEpoch);
  const auto due = *s.NextDue();
  std::vector<Action> out;
  s.Collect(due + 2 * interval, out);  // woke late: three slots due at once
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].kind, Action::Kind::kStart);
  EXPECT_EQ(out[1].kind, Action::Kind::kStart);
  EXPECT_EQ(out[2].kind, Action::Kind::kSkip);
  EXPECT_EQ(s.InFlight(0), 2);
}

TEST(Scheduler, JitterDelaysWithinBoundWithoutMovingTheGrid) {
  Scheduler s(42);
  const auto interval = std::chrono::duration_cast<Scheduler::Duration>(1s);
  const auto jitter = std::chrono::duration_cast<Scheduler::Duration>(200ms);
  const auto id = s.Add("j", {interval, jitter, 1}, kEpoch);
  const auto first = kEpoch + Scheduler::SpreadOffset("j", interval);
  std::vector<Action> out;
  Scheduler::Duration total{};
  for (int i = 0; i < 1000; ++i) {
    out.clear();
    s.Collect(*s.NextDue(), out);
    ASSERT_EQ(out.size(), 1u);
    const auto offset = out[0].due - (first + i * interval);
    ASSERT_GE(offset, Scheduler::Duration::zero());
    ASSERT_LT(offset, jitter);
    total += offset;
    s.Finished(id);
  }
  // Uniform on [0, 200ms): the mean is near 100ms.
  const auto mean = total / 1000;
  EXPECT_GT(mean, std::chrono::milliseconds(85));
  EXPECT_LT(mean, std::chrono::milliseconds(115));
}

TEST(Scheduler, ManyProbesComeDueInOrder) {
  Scheduler s;
  for (int i = 0; i < 500; ++i) {
    s.Add("p" + std::to_string(i),
          {std::chrono::duration_cast<Scheduler::Duration>(std::chrono::milliseconds(100 + i)),
           {},
           1},
          kEpoch);
  }
  std::vector<Action> out;
  s.Collect(kEpoch + std::chrono::seconds(1), out);
  ASSERT_FALSE(out.empty());
  for (std::size_t i = 1; i < out.size(); ++i) EXPECT_LE(out[i - 1].due, out[i].due);
}

TEST(Scheduler, RemovedProbesStopRunning) {
  Scheduler s;
  const auto interval = std::chrono::duration_cast<Scheduler::Duration>(1s);
  const auto id = s.Add("gone", {interval, {}, 1}, kEpoch);
  s.Remove(id);
  std::vector<Action> out;
  s.Collect(kEpoch + 10 * interval, out);
  EXPECT_TRUE(out.empty());
}

TEST(Scheduler, PostponeHoldsSlotsBackWithoutMovingTheGrid) {
  Scheduler s;
  const auto interval = std::chrono::duration_cast<Scheduler::Duration>(1s);
  const auto id = s.Add("limited", {interval, {}, 1}, kEpoch);
  const auto first = kEpoch + Scheduler::SpreadOffset("limited", interval);
  std::vector<Action> out;
  s.Collect(first, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Action::Kind::kStart);
  s.Finished(id);
  // The target asked to wait 3.5 intervals: the next three slots are
  // postponed (and reported), the fourth starts on the original grid.
  s.Postpone(id, first + 3 * interval + interval / 2);
  s.Postpone(id, first + interval);  // a shorter hold never shortens the first
  out.clear();
  s.Collect(first + 10 * interval, out);
  ASSERT_GE(out.size(), 5u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i].kind, Action::Kind::kPostpone) << i;
    EXPECT_EQ(out[i].due, first + (i + 1) * interval);
  }
  EXPECT_EQ(out[3].kind, Action::Kind::kStart);
  EXPECT_EQ(out[3].due, first + 4 * interval);
  // Still in flight: the next slot is an ordinary skip, not a postponement.
  EXPECT_EQ(out[4].kind, Action::Kind::kSkip);
}

}  // namespace
}  // namespace sloprobe::daemon
