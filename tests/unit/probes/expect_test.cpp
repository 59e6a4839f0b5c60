#include "probes/common/expect.hpp"

#include <gtest/gtest.h>

#include "config/loader.hpp"

namespace sloprobe::probes {
namespace {

config::Expectations Parse(const std::string& expect_yaml) {
  auto r = config::LoadConfigString(
      "probes:\n  - name: a\n    type: http\n    request: {url: \"http://h/\"}\n    expect: " +
          expect_yaml + "\n",
      "t.yml");
  if (!r.config) throw std::runtime_error(r.errors.at(0).ToString());
  return r.config->probes[0].expect;
}

HttpResponse Response(int status, std::string body = "",
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  for (auto& [k, v] : headers) r.headers.set(k, v);
  return r;
}

TEST(Expect, DefaultAccepts2xxOnly) {
  const config::Expectations none;
  EXPECT_FALSE(CheckResponse(Response(200), none));
  EXPECT_FALSE(CheckResponse(Response(204), none));
  const auto f = CheckResponse(Response(302), none);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->reason, Reason::kHttpStatus);
  EXPECT_EQ(f->detail, "status 302, expected 2xx");
}

TEST(Expect, StatusReasonsAreToldApart) {
  const auto e = Parse("{status: [200]}");
  EXPECT_EQ(CheckResponse(Response(429), e)->reason, Reason::kRateLimited);
  EXPECT_EQ(CheckResponse(Response(401), e)->reason, Reason::kAuth);
  EXPECT_EQ(CheckResponse(Response(403), e)->reason, Reason::kAuth);
  EXPECT_EQ(CheckResponse(Response(422), e)->reason, Reason::kHttpStatus);
  EXPECT_EQ(CheckResponse(Response(503), e)->reason, Reason::kHttpStatus);
  // An expected 401 is a success, not an auth failure.
  EXPECT_FALSE(CheckResponse(Response(401), Parse("{status: [401, 4xx]}")));
}

TEST(Expect, Body) {
  const auto e = Parse(R"({body_contains: ok, body_regex: "^\\{.*\\}$"})");
  EXPECT_FALSE(CheckResponse(Response(200, R"({"status":"ok"})"), e));
  EXPECT_EQ(CheckResponse(Response(200, R"({"status":"down"})"), e)->detail,
            "body does not contain 'ok'");
  EXPECT_EQ(CheckResponse(Response(200, "ok but not json"), e)->detail,
            "body does not match body_regex '^\\{.*\\}$'");
}

TEST(Expect, JsonPointers) {
  const auto e = Parse(
      "{json: [{pointer: /status, equals: ok}, {pointer: /n, equals: 3},"
      " {pointer: /items/1/id}, {pointer: /flag, equals: true}]}");
  EXPECT_FALSE(CheckResponse(
      Response(200, R"({"status":"ok","n":3.0,"items":[{},{"id":7}],"flag":true})"), e));
  EXPECT_EQ(CheckResponse(Response(200, R"({"status":"degraded"})"), e)->detail,
            R"(JSON Pointer '/status' is "degraded", expected "ok")");
  EXPECT_EQ(CheckResponse(Response(200, R"({"status":"ok","n":3,"items":[]})"), e)->detail,
            "JSON Pointer '/items/1/id' not found");
  const auto f = CheckResponse(Response(200, "<html>"), e);
  EXPECT_EQ(f->reason, Reason::kExpectation);
  EXPECT_EQ(f->detail.rfind("body is not JSON", 0), 0u);
}

TEST(Expect, Headers) {
  const auto e = Parse(
      R"({headers: {Content-Type: {contains: json}, X-Id: {regex: "^[0-9]+$"}, X-A: {equals: b}, X-E: {exists: true}}})");
  EXPECT_FALSE(CheckResponse(
      Response(200, "",
               {{"content-type", "application/json"}, {"X-Id", "42"}, {"X-A", "b"}, {"X-E", ""}}),
      e));
  EXPECT_EQ(CheckResponse(Response(200, "", {{"Content-Type", "text/html"}}), e)->detail,
            "header 'Content-Type' is 'text/html', which does not match");
  EXPECT_EQ(CheckResponse(Response(200, "", {{"Content-Type", "json"}, {"X-Id", "4x"}}), e)->detail,
            "header 'X-Id' is '4x', which does not match");
  EXPECT_EQ(CheckResponse(Response(200, "", {{"Content-Type", "json"}}), e)->detail,
            "header 'X-Id' is missing");
}

TEST(Expect, ServerTextInDetailsIsBoundedAndPrintable) {
  const auto e = Parse("{json: [{pointer: /s, equals: ok}]}");
  const std::string hostile = std::string(R"({"s":")") + std::string(500, 'A') + "\\n\\u0000\"}";
  const auto f = CheckResponse(Response(200, hostile), e);
  ASSERT_TRUE(f);
  EXPECT_LT(f->detail.size(), 200u);
  for (char c : f->detail) EXPECT_GE(static_cast<unsigned char>(c), 0x20);
}

TEST(Expect, PathologicalRegexFailsTheRunInsteadOfHanging) {
  const auto e = Parse(R"({body_regex: "(a+)+$"})");
  const auto f = CheckResponse(Response(200, std::string(50000, 'a') + "b"), e);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->reason, Reason::kExpectation);
}

TEST(Reason, NamesAreTheLabelValues) {
  EXPECT_EQ(ReasonName(Reason::kHttpStatus), "http_status");
  EXPECT_EQ(ReasonName(Reason::kBodyTooLarge), "body_too_large");
  EXPECT_EQ(ReasonName(Reason::kOk), "");
  const std::error_code ec = Reason::kTimeout;
  EXPECT_EQ(ec.category().name(), std::string("sloprobe.probe"));
  EXPECT_EQ(ec.message(), "timeout");
}

}  // namespace
}  // namespace sloprobe::probes
