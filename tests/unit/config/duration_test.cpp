#include "config/duration.hpp"

#include <gtest/gtest.h>

#include "config/text.hpp"

namespace sloprobe::config {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesUnitsAndCompounds) {
  EXPECT_EQ(ParseDuration("250ms"), Duration(250ms));
  EXPECT_EQ(ParseDuration("10s"), Duration(10s));
  EXPECT_EQ(ParseDuration("2m"), Duration(2min));
  EXPECT_EQ(ParseDuration("1h"), Duration(1h));
  EXPECT_EQ(ParseDuration("1m30s"), Duration(90s));
  EXPECT_EQ(ParseDuration("1.5s"), Duration(1500ms));
  EXPECT_EQ(ParseDuration("150us"), Duration(150us));
  EXPECT_EQ(ParseDuration("7ns"), Duration(7ns));
  EXPECT_EQ(ParseDuration("0s"), Duration(0));
}

TEST(Duration, RejectsMalformed) {
  for (const char* bad :
       {"", "10", "s", "10x", "-1s", "1.2.3s", "1 s", "ms10", "1e3s", "99999999999h"}) {
    EXPECT_FALSE(ParseDuration(bad)) << bad;
  }
}

TEST(Duration, FormatsTheWayItParses) {
  for (const char* text : {"250ms", "10s", "1m30s", "2h", "150us", "1500ms", "0s", "2h0m1s"}) {
    auto d = ParseDuration(text);
    ASSERT_TRUE(d) << text;
    EXPECT_EQ(ParseDuration(FormatDuration(*d)), d) << text;
  }
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(1500)), "1500ms");
  EXPECT_EQ(FormatDuration(std::chrono::seconds(7201)), "2h1s");
}

TEST(Size, ParsesUnits) {
  EXPECT_EQ(ParseSize("1048576"), 1048576u);
  EXPECT_EQ(ParseSize("64KiB"), 65536u);
  EXPECT_EQ(ParseSize("1MiB"), 1048576u);
  EXPECT_EQ(ParseSize("10MB"), 10000000u);
  EXPECT_EQ(ParseSize("2kB"), 2000u);
  EXPECT_FALSE(ParseSize("1 MiB"));
  EXPECT_FALSE(ParseSize("MiB"));
  EXPECT_FALSE(ParseSize("1TiB"));
  EXPECT_FALSE(ParseSize("99999999999999999999GiB"));
}

TEST(Suggest, FindsCloseTyposOnly) {
  constexpr std::string_view keys[] = {"interval", "timeout", "jitter"};
  EXPECT_EQ(Suggest("intervl", keys), "interval");
  EXPECT_EQ(Suggest("Timeout", keys), "timeout");
  EXPECT_EQ(Suggest("banana", keys), "");
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(Count(0, "probe"), "0 probes");
  EXPECT_EQ(Count(1, "probe"), "1 probe");
  EXPECT_EQ(Count(2, "error"), "2 errors");
}

TEST(EqualsIgnoreCase, ComparesAsciiCaseInsensitively) {
  EXPECT_TRUE(EqualsIgnoreCase("Content-Type", "content-type"));
  EXPECT_FALSE(EqualsIgnoreCase("Content-Type", "content-typ"));
  EXPECT_FALSE(EqualsIgnoreCase("Content-Type", "Content_Type"));
}

}  // namespace
}  // namespace sloprobe::config
