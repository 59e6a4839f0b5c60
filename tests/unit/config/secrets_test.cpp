#include "config/secrets.hpp"

#include <gtest/gtest.h>

namespace sloprobe::config {
namespace {

TEST(Redactor, MasksEveryOccurrenceLongestFirst) {
  Redactor r;
  r.Add("abcd");
  r.Add("abcdef-long");
  EXPECT_EQ(r.Redact("x abcdef-long y abcd z abcd"), "x <redacted> y <redacted> z <redacted>");
}

TEST(Redactor, IgnoresValuesTooShortToMaskSafely) {
  Redactor r;
  r.Add("ab");
  EXPECT_TRUE(r.Empty());
  EXPECT_EQ(r.Redact("about"), "about");
}

}  // namespace
}  // namespace sloprobe::config
