#include "daemon/notify.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace sloprobe::daemon {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(LoopProgressing, AliveWhileWaitingForAWakeNotLongPast) {
  const auto t = Clock::now();
  EXPECT_TRUE(LoopProgressing(true, std::nullopt, t, 100ms));    // working between waits
  EXPECT_TRUE(LoopProgressing(true, t + 1h, t, 100ms));          // a long interval is no stall
  EXPECT_TRUE(LoopProgressing(true, t - 100ms, t, 100ms));       // late, within tolerance
  EXPECT_FALSE(LoopProgressing(true, t - 101ms, t, 100ms));      // the wake never came
  EXPECT_FALSE(LoopProgressing(false, std::nullopt, t, 100ms));  // the loop has ended
}

class WatchdogEnv : public ::testing::Test {
 protected:
  void TearDown() override {
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
  }
};

TEST_F(WatchdogEnv, PingsAtHalfThePeriodOnlyWhenAskedForThisProcess) {
  ::unsetenv("WATCHDOG_USEC");
  EXPECT_FALSE(Notifier().WatchdogPeriod());
  ::setenv("WATCHDOG_USEC", "3000000", 1);
  EXPECT_EQ(Notifier().WatchdogPeriod(), std::chrono::microseconds(1'500'000));
  ::setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  EXPECT_EQ(Notifier().WatchdogPeriod(), std::chrono::microseconds(1'500'000));
  ::setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);
  EXPECT_FALSE(Notifier().WatchdogPeriod());  // meant for another process
}

}  // namespace
}  // namespace sloprobe::daemon
