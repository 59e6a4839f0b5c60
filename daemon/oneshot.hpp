#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/recent.hpp"

// `sloprobe check`: runs the configured probes a number of times or for a
// while, judges their objectives the way the alert rules do, prints a
// report and gives an exit code a pipeline can gate a deploy on.
namespace sloprobe::daemon {

struct OneShotOptions {
  std::string config_file;
  int runs = 10;  // per probe; ignored when `duration` is set
  // Keep starting runs until this much time has passed (every probe runs at
  // least once).
  std::optional<config::Duration> duration;
  // Pause between the end of a run and the start of the next run of the
  // same probe. Probes run side by side; runs of one probe never overlap.
  config::Duration pause{};
  std::vector<std::string> probes;  // only these; empty: all
  bool json = false;
};

// Exit codes.
inline constexpr int kCheckPassed = 0;
inline constexpr int kCheckBreached = 1;  // an objective was not met
inline constexpr int kCheckError = 2;     // the configuration cannot be run

struct ProbeReport {
  std::string name;
  std::string type;
  RunSamples samples;
  std::vector<Verdict> verdicts;
  // The last failed run: reason label value, scenario step, detail.
  std::string failure_reason;
  std::string failure_step;
  std::string failure_detail;
  bool Passed() const;
};

// The objectives `check` judges a probe by: the configured ones, and an
// error ratio of 0 when none is configured (a gate that ignores failures
// would let a broken deploy through).
config::Objectives CheckObjectives(const config::Objectives& configured);

void PrintTable(const std::vector<ProbeReport>& reports, std::ostream& out);
void PrintJson(const std::vector<ProbeReport>& reports, std::ostream& out);

// Loads the configuration, runs the probes, prints the report to `out`
// (errors to `err`) and returns one of the exit codes above.
int RunOneShot(const OneShotOptions& options, std::ostream& out, std::ostream& err);

}  // namespace sloprobe::daemon
