#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.hpp"

// Loading config text in tests and checking the errors it gives.
namespace sloprobe::config::test {

inline constexpr const char* kFile = "test.yml";

inline LoadResult Load(const std::string& yaml) { return LoadConfigString(yaml, kFile); }

// One error expected: its line, column and a fragment of its message.
struct Expected {
  int line;
  int column;
  std::string fragment;
};

// `errors` are exactly `expected`, in order, each located in kFile.
inline void ExpectLocated(const std::vector<ConfigError>& errors,
                          const std::vector<Expected>& expected) {
  ASSERT_EQ(errors.size(), expected.size()) << [&] {
    std::string all;
    for (const auto& e : errors) all += e.ToString() + "\n";
    return all;
  }();
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& e = errors[i];
    EXPECT_EQ(e.where.file, kFile);
    EXPECT_EQ(e.where.line, expected[i].line) << e.ToString();
    EXPECT_EQ(e.where.column, expected[i].column) << e.ToString();
    EXPECT_NE(e.message.find(expected[i].fragment), std::string::npos)
        << "'" << e.message << "' lacks '" << expected[i].fragment << "'";
  }
}

// Loading `yaml` fails with exactly `expected`.
inline void ExpectErrors(const std::string& yaml, const std::vector<Expected>& expected) {
  const auto r = Load(yaml);
  EXPECT_FALSE(r.config.has_value());
  ExpectLocated(r.errors, expected);
}

}  // namespace sloprobe::config::test
