#include "daemon/reload.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/http_server.hpp"

namespace sloprobe::daemon {
namespace {

class ReloadStatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sloprobe-reload-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Dir() const { return dir_.string(); }

  std::filesystem::path dir_;
};

TEST_F(ReloadStatusTest, WriterAndReaderAgree) {
  ReloadStatusWriter writer(Dir());
  EXPECT_FALSE(ReadReloadStatus(Dir()));
  writer.Started();
  auto status = ReadReloadStatus(Dir());
  ASSERT_TRUE(status);
  EXPECT_EQ(status->pid, ::getpid());
  EXPECT_EQ(status->generation, 0u);
  EXPECT_TRUE(status->outcome.ok);

  ReloadOutcome refused;
  refused.errors = {"a.yml:3:5: unknown key 'intervl'", "a.yml:9:1: \"quoted\"\n"};
  writer.Record(refused);
  status = ReadReloadStatus(Dir());
  ASSERT_TRUE(status);
  EXPECT_EQ(status->generation, 1u);
  EXPECT_FALSE(status->outcome.ok);
  EXPECT_EQ(status->outcome.errors, refused.errors);

  ReloadOutcome taken;
  taken.ok = true;
  taken.unchanged = 3;
  taken.added = 1;
  taken.read_at = std::chrono::steady_clock::now();
  writer.Record(taken);
  status = ReadReloadStatus(Dir());
  ASSERT_TRUE(status);
  EXPECT_EQ(status->generation, 2u);
  EXPECT_TRUE(status->outcome.ok);
  EXPECT_EQ(status->outcome.unchanged, 3u);
  EXPECT_EQ(status->outcome.added, 1u);
  // To the nanosecond: the client compares it with when it sent the signal.
  EXPECT_EQ(status->outcome.read_at, taken.read_at);
  EXPECT_FALSE(std::filesystem::exists(dir_ / (std::string(kReloadStatusFile) + ".tmp")));
}

TEST_F(ReloadStatusTest, AGarbledFileReadsAsNone) {
  std::ofstream(dir_ / kReloadStatusFile) << "{\"pid\": 1, \"generation\":";
  EXPECT_FALSE(ReadReloadStatus(Dir()));
  std::ofstream(dir_ / kReloadStatusFile) << "{\"pid\": \"x\"}";
  EXPECT_FALSE(ReadReloadStatus(Dir()));
}

TEST_F(ReloadStatusTest, WithoutADaemonToAskNothingIsSent) {
  std::ostringstream out, err;
  // No directory: nowhere to read an outcome.
  EXPECT_EQ(RequestReload({.pid = ::getpid(), .directory = ""}, out, err), kReloadNotAsked);
  EXPECT_NE(err.str().find("$RUNTIME_DIRECTORY is not set"), std::string::npos) << err.str();
  // A process that never wrote its status (here: none at all) is not
  // signalled: this test process would die of the SIGHUP otherwise.
  err.str("");
  EXPECT_EQ(RequestReload({.pid = ::getpid(), .directory = Dir()}, out, err), kReloadNotAsked);
  EXPECT_NE(err.str().find("has not written"), std::string::npos) << err.str();
  // The file of another process does not count either.
  std::ofstream(dir_ / kReloadStatusFile)
      << R"({"pid":1,"generation":0,"ok":true,"errors":[],"unchanged":0,"changed":0,)"
      << R"("added":0,"removed":0,"read_at_ns":0})";
  err.str("");
  EXPECT_EQ(RequestReload({.pid = ::getpid(), .directory = Dir()}, out, err), kReloadNotAsked);
  EXPECT_EQ(RequestReload({.pid = 0, .directory = Dir()}, out, err), kReloadNotAsked);
  EXPECT_TRUE(out.str().empty());
}

TEST(StatusText, CountsAndReloadOutcome) {
  EXPECT_EQ(StatusText(1, nullptr), "1 probe running");
  EXPECT_EQ(StatusText(3, nullptr), "3 probes running");
  ReloadOutcome failed;
  failed.errors = {"x"};
  EXPECT_EQ(StatusText(1, &failed),
            "1 probe running; last reload failed (1 error), running the previous configuration");
  failed.errors.push_back("y");
  EXPECT_EQ(StatusText(2, &failed),
            "2 probes running; last reload failed (2 errors), running the previous "
            "configuration");
  ReloadOutcome ok;
  ok.ok = true;
  EXPECT_EQ(StatusText(0, &ok), "0 probes running; configuration reloaded");
}

TEST(EndpointText, BracketsIpv6) {
  EXPECT_EQ(EndpointText(*ParseListenAddress(":9479")), "[::]:9479");
  EXPECT_EQ(EndpointText(*ParseListenAddress("127.0.0.1:80")), "127.0.0.1:80");
  EXPECT_EQ(EndpointText(*ParseListenAddress("[::1]:1")), "[::1]:1");
}

}  // namespace
}  // namespace sloprobe::daemon
