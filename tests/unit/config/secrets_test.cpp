#include "config/secrets.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "tests/unit/config/load_helpers.hpp"

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

TEST(InlineSecrets, CredentialsWrittenIntoTheFileAreFoundByPlaceNotValue) {
  ::setenv("SLOPROBE_UNIT_INLINE", "from-the-environment", 1);
  const auto r = test::Load(R"(secrets:
  pw: {env: SLOPROBE_UNIT_INLINE}
otlp:
  endpoint: "http://collector:4318"
  headers: {X-Api-Key: literal-otlp-key}
probes:
  - name: a
    type: http
    request:
      url: "http://h/"
      basic_auth: {username: u, password: literal-pw}
      headers: {Authorization: "Bearer literal-token", X-Trace: "not-a-credential"}
  - name: b
    type: scenario
    steps:
      - name: login
        request:
          method: POST
          url: "http://h/login"
          json: {username: u, password: "literal-json-pw", nested: {client_secret: s3}, n: 5}
        extract: {token: {json: /t}}
      - name: form
        request: {method: POST, url: "http://h/f", form: {api_key: literal-form-key}}
      - name: fine
        request:
          url: "http://h/x"
          headers: {Authorization: "Bearer ${token}", Cookie: "s=${secrets.pw}"}
          json: {password: "${secrets.pw}"}
  - name: c
    type: llm_stream
    api: openai
    url: "http://h/v1/chat/completions"
    api_key: sk-literal
    model: m
    prompt: hi
)");
  ASSERT_TRUE(r.config) << r.errors.at(0).ToString();
  const std::vector<std::string> expected{
      "test.yml:5:24: header 'X-Api-Key'",
      "test.yml:11:43: basic_auth password",
      "test.yml:12:32: header 'Authorization'",
      "test.yml:20:41: JSON field 'password'",
      "test.yml:20:84: JSON field 'client_secret'",
      "test.yml:23:68: form field 'api_key'",
      "test.yml:33:14: api_key",
  };
  auto found = r.config->inline_secrets;
  auto by_line = [](const std::string& a, const std::string& b) {
    return std::stoi(a.substr(9)) < std::stoi(b.substr(9));
  };
  std::stable_sort(found.begin(), found.end(), by_line);
  EXPECT_EQ(found, expected);
  for (const auto& w : found) EXPECT_EQ(w.find("literal"), std::string::npos) << w;
}

}  // namespace
}  // namespace sloprobe::config
