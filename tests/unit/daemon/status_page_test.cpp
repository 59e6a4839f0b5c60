#include "daemon/status_page.hpp"

#include <gtest/gtest.h>

namespace sloprobe::daemon {
namespace {

using probes::Reason;

std::size_t Count(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(StatusPage, StateFollowsTheLastRunThenTheObjectives) {
  Verdict met;
  met.met = true;
  Verdict unmet;
  unmet.met = false;
  EXPECT_EQ(StateOf(std::nullopt, {}), StatusRow::State::kPending);
  EXPECT_EQ(StateOf(Reason::kTimeout, {met}), StatusRow::State::kFailing);
  EXPECT_EQ(StateOf(Reason::kOk, {met}), StatusRow::State::kOk);
  EXPECT_EQ(StateOf(Reason::kOk, {met, unmet}), StatusRow::State::kBreaching);
}

TEST(StatusPage, EscapesEverythingATargetOrConfigCanSay) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  StatusPage page;
  page.now_unix = 2000;
  page.total = 1;
  StatusRow row;
  row.name = "api";
  row.type = "http";
  row.state = StatusRow::State::kFailing;
  row.last_run_unix = 1990;
  row.runs = {{1990, 0.2, Reason::kExpectation}};
  row.failure_unix = 1990;
  row.failure_reason = "expectation";
  row.failure_detail = "body does not contain \"<script>alert(1)</script>\"";
  page.rows.push_back(row);
  const auto html = RenderStatusPage(page);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
}

TEST(StatusPage, OneRowPerProbeWithItsNumbers) {
  StatusPage page;
  page.now_unix = 10'000;
  page.total = 2;
  page.version = "1.2.3";
  StatusRow ok;
  ok.name = "health";
  ok.type = "http";
  ok.interval = std::chrono::seconds(10);
  ok.state = StatusRow::State::kOk;
  ok.last_run_unix = 9'996;
  ok.last_seconds = 0.004;
  for (int i = 0; i < 20; ++i) ok.runs.push_back({9'000.0 + i * 10, 0.001 * (i + 1), Reason::kOk});
  Verdict v;
  v.objective = "latency";
  v.quantile = 0.95;
  v.threshold = 0.02;
  v.observed = 0.019;
  v.ratio = 0;
  ok.verdicts = {v};
  ok.latency_threshold = 0.02;
  page.rows.push_back(ok);
  StatusRow pending;
  pending.name = "later";
  pending.type = "scenario";
  page.rows.push_back(pending);

  const auto html = RenderStatusPage(page);
  EXPECT_EQ(Count(html, "<tr data-probe="), 2u);
  EXPECT_NE(html.find("data-probe=\"health\" data-state=\"ok\""), std::string::npos);
  EXPECT_NE(html.find("data-probe=\"later\" data-state=\"pending\""), std::string::npos);
  // Nearest rank over 1..20 ms: p50 is the 10th, p95 the 19th.
  EXPECT_NE(html.find("<td class=\"num p50\">10.0ms</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"num p95\">19.0ms</td>"), std::string::npos);
  EXPECT_NE(html.find("✓ latency p95 &lt;= 20ms"), std::string::npos);
  EXPECT_NE(html.find("4s ago"), std::string::npos);
  EXPECT_NE(html.find("<meta http-equiv=\"refresh\" content=\"10\">"), std::string::npos);
  EXPECT_EQ(Count(html, "<svg"), 2u);
  EXPECT_EQ(Count(html, "class=\"latency\""), 1u) << "no line without runs";
  // Self-contained: no script, no external asset.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
}

TEST(StatusPage, SparklinePlacesRunsByTimeAndMarksFailures) {
  const std::vector<RecentRuns::Run> runs{
      {100, 0.5, Reason::kOk}, {150, 1.0, Reason::kTimeout}, {200, 0.0, Reason::kOk}};
  const auto svg = Sparkline(runs, 100, 200, 0.5);
  // x from 3 to 237 across the window; y from 37 (0 s) up to 3 (1.1 x the slowest).
  EXPECT_NE(svg.find("points=\"3.0,21.5 120.0,6.1 237.0,37.0\""), std::string::npos) << svg;
  EXPECT_EQ(Count(svg, "class=\"failure\""), 1u);
  EXPECT_NE(svg.find("cx=\"120.0\""), std::string::npos);
  EXPECT_NE(svg.find("class=\"threshold\""), std::string::npos);
  EXPECT_EQ(Sparkline({}, 0, 900, std::nullopt).find("threshold"), std::string::npos);
}

}  // namespace
}  // namespace sloprobe::daemon
