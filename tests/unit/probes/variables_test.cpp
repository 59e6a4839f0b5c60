// Filling templates in and taking values out of responses, including values
// a hostile server could send: quotes, control characters, unicode, very
// long strings.
#include "probes/common/variables.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <regex>

#include "config/loader.hpp"

namespace sloprobe::probes {
namespace {

// The one step of a one-step scenario whose extract sets `var` in an
// earlier step; `request` is the step's request mapping.
config::ScenarioStep StepWith(const std::string& request) {
  auto r = config::LoadConfigString(R"yaml(probes:
  - name: s
    type: scenario
    steps:
      - name: first
        request: {url: "http://h/"}
        extract: {v: {status: true}, w: {status: true}}
      - name: second
        request: )yaml" + request + "\n",
                                    "t.yml");
  if (!r.config) throw std::runtime_error(r.errors.at(0).ToString());
  return r.config->probes[0].steps[1];
}

std::string RenderOrThrow(const config::Template& t, const Variables& vars) {
  std::string missing;
  auto out = Render(t, vars, missing);
  if (!out) throw std::runtime_error("missing " + missing);
  return *out;
}

const std::vector<std::string>& HostileValues() {
  static const std::vector<std::string> values{
      "plain",
      "with \"quotes\" and 'apostrophes'",
      "back\\slash and \\\"escaped\\\" quote",
      "new\nline, tab\t, cr\r, nul",
      std::string("nul\0byte", 8),
      "unicode: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80",
      "url: /a?b=c&d=e#f %20 +",
      "json: {\"a\": [1, 2]}",
      "${not_a_variable} $${escaped}",
      std::string(100000, 'x') + "\"",
  };
  return values;
}

TEST(Variables, JsonBodiesStayValidJsonWhateverTheValue) {
  const auto step = StepWith(R"({url: "http://h/", json: {name: "${v}", tags: ["${w}", 7]}})");
  for (const auto& value : HostileValues()) {
    const auto body = RenderOrThrow(step.body, {{"v", value}, {"w", "x" + value}});
    boost::system::error_code ec;
    const auto doc = boost::json::parse(body, ec);
    ASSERT_FALSE(ec) << ec.message() << " for value of size " << value.size();
    EXPECT_EQ(doc.at("name").as_string(), value);
    EXPECT_EQ(doc.at("tags").at(0).as_string(), "x" + value);
    EXPECT_EQ(doc.at("tags").at(1).as_int64(), 7);
  }
}

TEST(Variables, UrlValuesArePercentEncodedAndDecodeBackToThemselves) {
  const auto step = StepWith(R"({url: "http://h/agents/${v}?q=${w}"})");
  for (const auto& value : HostileValues()) {
    const auto text = RenderOrThrow(step.url, {{"v", value}, {"w", value}});
    std::string error;
    const auto parsed = config::ParseTargetUrl(text, error);
    ASSERT_TRUE(parsed) << error;
    const boost::urls::url_view url = *parsed;
    // One path segment and one query value, whatever the value holds.
    const auto segments = url.segments();
    ASSERT_EQ(segments.size(), 2u);
    EXPECT_EQ(*std::next(segments.begin()), value);
    ASSERT_EQ(url.params().size(), 1u);
    EXPECT_EQ((*url.params().begin()).value, value);
  }
}

TEST(Variables, HeaderValuesAreInsertedAsTheyAre) {
  const auto step = StepWith(R"({url: "http://h/", headers: {Authorization: "Bearer ${v}"}})");
  EXPECT_EQ(RenderOrThrow(step.headers.at(0).value, {{"v", "a\"b c"}}), "Bearer a\"b c");
  // A value with a line break renders; the scenario refuses to send it.
  EXPECT_FALSE(
      config::ValidHeaderValue(RenderOrThrow(step.headers[0].value, {{"v", "a\r\nX: y"}})));
}

TEST(Variables, FormValuesAreFormEncoded) {
  const auto step = StepWith(R"({url: "http://h/", method: POST, form: {a: "${v}", b: "1 2"}})");
  EXPECT_EQ(RenderOrThrow(step.body, {{"v", "x&y=z +\xc3\xa9"}}), "a=x%26y%3Dz+%2B%C3%A9&b=1+2");
}

TEST(Variables, AMissingVariableIsNamedNeverRenderedEmpty) {
  const auto step = StepWith(R"({url: "http://h/${v}/${w}"})");
  std::string missing;
  EXPECT_FALSE(Render(step.url, {{"v", "1"}}, missing));
  EXPECT_EQ(missing, "w");
}

TEST(Variables, BuiltinsAreFreshAtEachUse) {
  const auto step = StepWith(R"({url: "http://h/${uuid}/${uuid}/${unix_ms}/${run_id}"})");
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const auto text = RenderOrThrow(step.url, {{"run_id", "R"}});
  const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  const std::regex shape(
      "http://h/([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})/"
      "([0-9a-f-]{36})/([0-9]+)/R");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(text, m, shape)) << text;
  EXPECT_NE(m[1].str(), m[2].str());
  const auto ms = std::stoll(m[3].str());
  EXPECT_GE(ms, before);
  EXPECT_LE(ms, after);
}

HttpResponse Response(int status, std::string body,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  for (auto& [k, v] : headers) r.headers.insert(k, v);
  return r;
}

std::vector<config::Extraction> Extractions(const std::string& extract) {
  auto r = config::LoadConfigString(R"yaml(probes:
  - name: s
    type: scenario
    steps:
      - name: a
        request: {url: "http://h/"}
        extract: )yaml" + extract + "\n",
                                    "t.yml");
  if (!r.config) throw std::runtime_error(r.errors.at(0).ToString());
  return r.config->probes[0].steps[0].extract;
}

TEST(Variables, ExtractsFromJsonHeadersBodyAndStatus) {
  const auto x = Extractions(
      R"yaml({token: {json: /access_token}, n: {json: /n}, obj: {json: /o}, loc: {header: location},
 id: {header: Location, regex: "/agents/([^/]+)$"}, word: {regex: "w=(\\w+)"}, code: {status: true},
 uni: {json: /u}})yaml");
  Variables vars;
  const auto error = ExtractAll(
      x,
      Response(201,
               R"({"access_token":"t\"ok\u00e9n","n":42,"o":{"a":[1,true]},"u":"\u2603"} w=abc)",
               {{"Location", "/agents/agent-7"}}),
      vars);
  // Trailing text after the JSON object makes it not JSON; first extraction fails.
  ASSERT_TRUE(error);
  EXPECT_NE(error->find("extract 'token': body is not JSON"), std::string::npos) << *error;

  vars.clear();
  const auto ok = ExtractAll(
      x,
      Response(
          201,
          R"({"access_token":"t\"ok\u00e9n","n":42,"o":{"a":[1,true]},"u":"\u2603","w":"w=abc"})",
          {{"Location", "/agents/agent-7"}}),
      vars);
  ASSERT_FALSE(ok) << *ok;
  EXPECT_EQ(vars["token"], "t\"ok\xc3\xa9n");
  EXPECT_EQ(vars["n"], "42");
  EXPECT_EQ(vars["obj"], R"({"a":[1,true]})");
  EXPECT_EQ(vars["loc"], "/agents/agent-7");
  EXPECT_EQ(vars["id"], "agent-7");
  EXPECT_EQ(vars["word"], "abc");
  EXPECT_EQ(vars["code"], "201");
  EXPECT_EQ(vars["uni"], "\xe2\x98\x83");
}

TEST(Variables, ExtractionFailuresSayWhichAndWhyWithoutTheValue) {
  const std::string secret_body = R"({"access_token":null,"other":"s3cr3t-value"})";
  struct Case {
    std::string extract;
    std::string fragment;
  };
  const std::vector<Case> cases{
      {"{t: {json: /access_token}}", "extract 't': JSON Pointer '/access_token' is null"},
      {"{t: {json: /missing}}", "extract 't': JSON Pointer '/missing' not found"},
      {"{t: {header: X-Token}}", "extract 't': header 'X-Token' is missing"},
      {"{t: {regex: \"nomatch(\\\\d+)\"}}", "does not match the body"},
      {"{t: {regex: \"(zzz)|(s3cr3t)\", group: 1}}",
       "group 1 of regex '(zzz)|(s3cr3t)' did not take "
       "part in the match"},
  };
  for (const auto& c : cases) {
    Variables vars;
    const auto error = ExtractAll(Extractions(c.extract), Response(200, secret_body), vars);
    ASSERT_TRUE(error) << c.extract;
    EXPECT_NE(error->find(c.fragment), std::string::npos) << *error;
    EXPECT_EQ(error->find("s3cr3t-value"), std::string::npos) << *error;
    EXPECT_TRUE(vars.empty());
  }
}

TEST(Variables, JsonNumberReadsExpiresIn) {
  EXPECT_EQ(JsonNumber(R"({"expires_in": 3600})", "/expires_in"), 3600);
  EXPECT_EQ(JsonNumber(R"({"expires_in": 1.5})", "/expires_in"), 1.5);
  EXPECT_FALSE(JsonNumber(R"({"expires_in": "3600"})", "/expires_in"));
  EXPECT_FALSE(JsonNumber("not json", "/expires_in"));
}

}  // namespace
}  // namespace sloprobe::probes
