// Checks the shipped rule file against what it promises and what the daemon
// exports: every alert carries its labels, annotations and an existing runbook;
// every promtool test file exercises each alert both ways; every metric the
// rules read is one sloprobe registers.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "config/loader.hpp"
#include "daemon/metrics.hpp"

namespace sloprobe {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = SLOPROBE_SOURCE_DIR;

struct Alert {
  std::string name;
  YAML::Node node;
};

// Every rule, recording ones included.
std::vector<YAML::Node> ShippedRules() {
  std::vector<YAML::Node> rules;
  const auto file = YAML::LoadFile((kSource / "alerts/sloprobe.rules.yml").string());
  for (const auto& group : file["groups"]) {
    for (const auto& rule : group["rules"]) rules.push_back(rule);
  }
  return rules;
}

std::vector<Alert> ShippedAlerts() {
  std::vector<Alert> alerts;
  for (const auto& rule : ShippedRules()) {
    if (rule["alert"]) alerts.push_back({rule["alert"].as<std::string>(), rule});
  }
  return alerts;
}

TEST(AlertRules, EveryNamedAlertIsShipped) {
  std::set<std::string> names;
  for (const auto& a : ShippedAlerts()) names.insert(a.name);
  for (const char* want :
       {"SloprobeLatencyObjectiveBreached", "SloprobeErrorRateHigh", "SloprobeErrorBudgetBurnFast",
        "SloprobeErrorBudgetBurnSlow", "SloprobeProbeStale", "SloprobeProbeFailing", "SloprobeDown",
        "SloprobeConfigReloadFailed", "SloprobeSchedulerLagging", "SloprobeTLSCertExpiringSoon",
        "SloprobeLatencyRegression"}) {
    EXPECT_TRUE(names.contains(want)) << want;
  }
}

TEST(AlertRules, EveryAlertHasSeverityAnnotationsAndARunbook) {
  for (const auto& [name, rule] : ShippedAlerts()) {
    SCOPED_TRACE(name);
    const auto severity = rule["labels"]["severity"].as<std::string>("");
    EXPECT_TRUE(severity == "critical" || severity == "warning" || severity == "info") << severity;
    const auto annotations = rule["annotations"];
    EXPECT_FALSE(annotations["summary"].as<std::string>("").empty());
    EXPECT_FALSE(annotations["description"].as<std::string>("").empty());
    const auto runbook = annotations["runbook_url"].as<std::string>("");
    EXPECT_EQ(runbook, "docs/runbooks/" + name + ".md");
    EXPECT_TRUE(fs::exists(kSource / runbook)) << runbook;
  }
}

TEST(AlertRules, EveryAlertIsTestedFiringAndQuiet) {
  std::set<std::string> fires, quiet;
  for (const auto& entry : fs::directory_iterator(kSource / "alerts/tests")) {
    if (!entry.path().string().ends_with(".test.yml")) continue;
    const auto file = YAML::LoadFile(entry.path().string());
    for (const auto& group : file["tests"]) {
      for (const auto& test : group["alert_rule_test"]) {
        const auto name = test["alertname"].as<std::string>();
        const auto expected = test["exp_alerts"];
        (expected && expected.size() > 0 ? fires : quiet).insert(name);
      }
    }
  }
  for (const auto& a : ShippedAlerts()) {
    EXPECT_TRUE(fires.contains(a.name)) << a.name << " has no test where it fires";
    EXPECT_TRUE(quiet.contains(a.name)) << a.name << " has no test where it stays quiet";
  }
}

// Every sloprobe_* name in the rules (expressions and annotation queries) is
// a sample name of a family the daemon registers.
TEST(AlertRules, ReadOnlyMetricsTheDaemonExports) {
  auto registry = std::make_shared<prometheus::Registry>();
  daemon::Metrics metrics(registry);
  auto loaded = config::LoadConfigString(R"(
probes:
  - name: web
    type: http
    request: {url: "https://h/"}
    objectives: {latency: {quantile: 0.95, threshold: 200ms}, error_ratio: 0.01}
  - name: chat
    type: llm_stream
    api: openai
    url: "http://h/v1/chat/completions"
    model: m
    prompt: hi
    objectives: {ttft: {threshold: 500ms}, inter_chunk: {threshold: 100ms}, e2e: {threshold: 5s}}
  - name: events
    type: websocket
    request: {url: "ws://h/ws"}
    websocket: {send: ping}
    objectives: {round_trip: {threshold: 500ms}}
)",
                                         "t.yml");
  ASSERT_TRUE(loaded.config) << loaded.errors.at(0).ToString();
  std::vector<std::unique_ptr<daemon::ProbeMetrics>> probes;
  for (const auto& p : loaded.config->probes) probes.push_back(metrics.ForProbe(p));
  // The certificate gauge appears with the first handshake.
  probes::ProbeResult handshake;
  handshake.cert_not_after = 1'900'000'000;
  probes[0]->Record(handshake, 1000);

  std::set<std::string> exported;
  for (const auto& family : metrics.Collect()) {
    exported.insert(family.name);
    if (family.type == prometheus::MetricType::Histogram) {
      for (const char* suffix : {"_bucket", "_count", "_sum"})
        exported.insert(family.name + suffix);
    }
  }
  const std::regex metric(R"(\bsloprobe_[a-z_]+\b)");
  std::set<std::string> used;
  for (const auto& rule : ShippedRules()) {
    std::string text = rule["expr"].as<std::string>();
    for (const auto& kv : rule["annotations"]) text += "\n" + kv.second.as<std::string>();
    for (std::sregex_iterator it(text.begin(), text.end(), metric), end; it != end; ++it) {
      used.insert(it->str());
    }
  }
  EXPECT_GT(used.size(), 10u);
  for (const auto& name : used) EXPECT_TRUE(exported.contains(name)) << name;
}

}  // namespace
}  // namespace sloprobe
