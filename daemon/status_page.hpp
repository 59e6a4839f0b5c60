#pragma once

#include <optional>
#include <string>
#include <vector>

#include "daemon/recent.hpp"

// The page at `/`: one row per probe, for a person to see at a glance what
// is wrong. Plain HTML with its style inline; no script, no external asset.
namespace sloprobe::daemon {

struct StatusRow {
  enum class State { kPending, kOk, kBreaching, kFailing };

  std::string name;
  std::string type;  // "http", "scenario", "llm_stream", "websocket"
  State state = State::kPending;
  config::Duration interval{};
  std::optional<double> last_run_unix;
  double last_seconds = 0;  // duration of the last run
  // The runs the page summarises (the last 15 minutes, or fewer when the
  // ring is smaller than that), oldest first.
  std::vector<RecentRuns::Run> runs;
  std::vector<Verdict> verdicts;
  std::optional<double> latency_threshold;  // for the sparkline's line
  // The last failed run: reason label value, step (scenarios), detail.
  std::string failure_reason;
  std::string failure_step;
  std::string failure_detail;
  std::optional<double> failure_unix;
};

// The state shown for a probe: pending before its first run, failing when
// its last run failed, breaching when an objective is not met over the
// window although the last run passed, ok otherwise.
StatusRow::State StateOf(const std::optional<probes::Reason>& last,
                         const std::vector<Verdict>& verdicts);

// "pending", "ok", "breaching", "failing": the row's data-state.
std::string_view StateName(StatusRow::State state);

struct StatusPage {
  std::vector<StatusRow> rows;  // in the order to show
  std::size_t total = 0;        // probes configured; more than rows when cut
  std::string filter;           // the ?probe= substring, if any
  double now_unix = 0;
  double window_seconds = 15 * 60;
  int refresh_seconds = 10;  // 0: no auto-refresh
  std::string version;
};

std::string RenderStatusPage(const StatusPage& page);

// An inline SVG of the runs' durations over the window: a line through the
// runs, failed runs as red dots, the threshold dashed.
std::string Sparkline(const std::vector<RecentRuns::Run>& runs, double from_unix, double to_unix,
                      std::optional<double> threshold);

// Text safe inside HTML elements and quoted attributes.
std::string HtmlEscape(std::string_view text);

}  // namespace sloprobe::daemon
