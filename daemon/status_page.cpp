#include "daemon/status_page.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "config/text.hpp"

namespace sloprobe::daemon {

namespace {

std::string Format(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

// "4s ago", "3m ago", "2h ago".
std::string AgoText(double seconds) {
  seconds = std::max(0.0, seconds);
  if (seconds < 120) return Format("%.0fs ago", seconds);
  if (seconds < 7200) return Format("%.0fm ago", seconds / 60);
  return Format("%.0fh ago", seconds / 3600);
}

std::string UtcText(double unix) {
  const auto t = static_cast<std::time_t>(unix);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

constexpr std::string_view kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d1d1f;background:#fafafa}
h1{font-size:1.3em;margin:0 0 .2em}
.summary{margin:.2em 0 1em;color:#444}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e3e3e3;padding:.4em .6em;text-align:left;vertical-align:top}
th{background:#f0f0f0;font-weight:600;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.state{font-weight:600;border-radius:3px;padding:.1em .5em;white-space:nowrap}
.state-ok{background:#dff3e2;color:#14532d}
.state-failing{background:#fde2e1;color:#7f1d1d}
.state-breaching{background:#fff1c2;color:#713f12}
.state-pending{background:#eceff3;color:#374151}
.met{color:#14532d}.unmet{color:#b91c1c;font-weight:600}
.type{color:#666;font-size:.85em}
.detail{color:#555;font-size:.9em;max-width:28em;word-break:break-word}
ul.objectives{margin:0;padding-left:1.1em}
svg.spark{display:block}
footer{margin-top:1em;color:#666;font-size:.85em}
)";

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

StatusRow::State StateOf(const std::optional<probes::Reason>& last,
                         const std::vector<Verdict>& verdicts) {
  if (!last) return StatusRow::State::kPending;
  if (*last != probes::Reason::kOk) return StatusRow::State::kFailing;
  const bool all_met =
      std::all_of(verdicts.begin(), verdicts.end(), [](const Verdict& v) { return v.met; });
  return all_met ? StatusRow::State::kOk : StatusRow::State::kBreaching;
}

std::string_view StateName(StatusRow::State state) {
  switch (state) {
    case StatusRow::State::kPending:
      return "pending";
    case StatusRow::State::kOk:
      return "ok";
    case StatusRow::State::kBreaching:
      return "breaching";
    case StatusRow::State::kFailing:
      return "failing";
  }
  return "";
}

std::string Sparkline(const std::vector<RecentRuns::Run>& runs, double from_unix, double to_unix,
                      std::optional<double> threshold) {
  constexpr double kWidth = 240;
  constexpr double kHeight = 40;
  constexpr double kPad = 3;
  double top = threshold.value_or(0);
  for (const auto& r : runs) top = std::max(top, r.seconds);
  if (top <= 0) top = 1;
  top *= 1.1;
  const double span = std::max(1.0, to_unix - from_unix);
  auto x = [&](double at) {
    return kPad + (kWidth - 2 * kPad) * std::clamp((at - from_unix) / span, 0.0, 1.0);
  };
  auto y = [&](double seconds) {
    return kPad + (kHeight - 2 * kPad) * (1 - std::clamp(seconds / top, 0.0, 1.0));
  };
  std::string svg =
      "<svg class=\"spark\" width=\"240\" height=\"40\" viewBox=\"0 0 240 40\" "
      "xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"latency, last " +
      Format("%.0f", span / 60) + " minutes\">";
  svg += "<rect width=\"240\" height=\"40\" fill=\"#f7f7f9\"/>";
  if (threshold) {
    svg += "<line class=\"threshold\" x1=\"0\" x2=\"240\" y1=\"" + Format("%.1f", y(*threshold)) +
           "\" y2=\"" + Format("%.1f", y(*threshold)) +
           "\" stroke=\"#d97706\" stroke-dasharray=\"3 2\" stroke-width=\"1\"/>";
  }
  if (!runs.empty()) {
    std::string points;
    for (const auto& r : runs) {
      points += Format("%.1f", x(r.finished_unix)) + "," + Format("%.1f", y(r.seconds)) + " ";
    }
    points.pop_back();
    svg +=
        "<polyline class=\"latency\" fill=\"none\" stroke=\"#2563eb\" stroke-width=\"1.5\" "
        "points=\"" +
        points + "\"/>";
    for (const auto& r : runs) {
      if (r.reason == probes::Reason::kOk) continue;
      svg += "<circle class=\"failure\" r=\"2.5\" fill=\"#dc2626\" cx=\"" +
             Format("%.1f", x(r.finished_unix)) + "\" cy=\"" + Format("%.1f", y(r.seconds)) +
             "\"/>";
    }
  }
  svg += "</svg>";
  return svg;
}

std::string RenderStatusPage(const StatusPage& page) {
  std::array<std::size_t, 4> counts{};
  for (const auto& row : page.rows) ++counts[static_cast<std::size_t>(row.state)];
  std::string html = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  if (page.refresh_seconds > 0) {
    html +=
        "<meta http-equiv=\"refresh\" content=\"" + std::to_string(page.refresh_seconds) + "\">";
  }
  html += "<meta name=\"viewport\" content=\"width=device-width\"><title>sloprobe status</title>";
  html += "<style>" + std::string(kStyle) + "</style></head><body>\n";
  html += "<h1>sloprobe status</h1>\n<p class=\"summary\" id=\"summary\">";
  html += config::Count(page.total, "probe");
  if (!page.filter.empty()) {
    html +=
        " (" + std::to_string(page.rows.size()) + " matching “" + HtmlEscape(page.filter) + "”)";
  }
  html += ": <span data-count=\"failing\">" + std::to_string(counts[3]) +
          "</span> failing, <span data-count=\"breaching\">" + std::to_string(counts[2]) +
          "</span> breaching, <span data-count=\"ok\">" + std::to_string(counts[1]) +
          "</span> ok, <span data-count=\"pending\">" + std::to_string(counts[0]) +
          "</span> pending. Quantiles and ratios over the last " +
          Format("%.0f", page.window_seconds / 60) + " minutes.</p>\n";
  html +=
      "<table id=\"probes\"><thead><tr><th>State</th><th>Probe</th><th>Last run</th>"
      "<th>p50</th><th>p95</th><th>Runs</th><th>Errors</th><th>Objectives</th>"
      "<th>Latency</th><th>Last failure</th></tr></thead><tbody>\n";
  const double from = page.now_unix - page.window_seconds;
  for (const auto& row : page.rows) {
    LatencySamples latency;
    std::size_t failures = 0;
    for (const auto& r : row.runs) {
      latency.seconds.push_back(r.seconds);
      if (r.reason != probes::Reason::kOk) ++failures;
    }
    const auto name = HtmlEscape(row.name);
    const auto state = std::string(StateName(row.state));
    html += "<tr data-probe=\"" + name + "\" data-state=\"" + state + "\">";
    html += "<td><span class=\"state state-" + state + "\">" + state + "</span></td>";
    html += "<td class=\"name\">" + name + "<br><span class=\"type\">" + HtmlEscape(row.type) +
            ", every " + config::FormatDuration(row.interval) + "</span></td>";
    if (row.last_run_unix) {
      html += "<td class=\"last-run\" title=\"" + UtcText(*row.last_run_unix) + "\">" +
              AgoText(page.now_unix - *row.last_run_unix) + "<br>" + LatencyText(row.last_seconds) +
              "</td>";
    } else {
      html += "<td class=\"last-run\">never</td>";
    }
    html += "<td class=\"num p50\">" + LatencyText(latency.Quantile(0.5)) + "</td>";
    html += "<td class=\"num p95\">" + LatencyText(latency.Quantile(0.95)) + "</td>";
    html += "<td class=\"num runs\">" + std::to_string(row.runs.size()) + "</td>";
    html +=
        "<td class=\"num errors\">" +
        (row.runs.empty()
             ? std::string("-")
             : RatioText(static_cast<double>(failures) / static_cast<double>(row.runs.size()))) +
        "</td>";
    html += "<td class=\"objectives\">";
    if (row.verdicts.empty()) {
      html += "none";
    } else {
      html += "<ul class=\"objectives\">";
      for (const auto& v : row.verdicts) {
        html += std::string("<li class=\"") + (v.met ? "met" : "unmet") + "\" data-objective=\"" +
                v.objective + "\">" + (v.met ? "✓ " : "✗ ") +
                HtmlEscape(v.Describe() + " (" + v.Measured() + ")") + "</li>";
      }
      html += "</ul>";
    }
    html += "</td>";
    // Across the runs there are: a daemon that started a minute ago shows
    // that minute, not a line squeezed against the right edge.
    const double spark_from =
        row.runs.empty() ? from : std::max(from, row.runs.front().finished_unix);
    html += "<td class=\"spark\">" +
            Sparkline(row.runs, spark_from, page.now_unix, row.latency_threshold) + "</td>";
    html += "<td class=\"failure\">";
    if (row.failure_unix) {
      html += "<span class=\"reason\">" + HtmlEscape(row.failure_reason) + "</span>";
      if (!row.failure_step.empty()) {
        html += " at step <span class=\"step\">" + HtmlEscape(row.failure_step) + "</span>";
      }
      html += ", " + AgoText(page.now_unix - *row.failure_unix);
      html += "<div class=\"detail\">" + HtmlEscape(row.failure_detail) + "</div>";
    } else {
      html += "–";
    }
    html += "</td></tr>\n";
  }
  html += "</tbody></table>\n";
  if (page.rows.size() < page.total && page.filter.empty()) {
    html += "<p id=\"cut\">" + std::to_string(page.total - page.rows.size()) +
            " more probes not shown (the ones in the worst state come first); narrow the "
            "list with <code>?probe=</code><i>part of a name</i>.</p>\n";
  }
  html += "<footer>sloprobe " + HtmlEscape(page.version) + " · " + UtcText(page.now_unix);
  if (page.refresh_seconds > 0) {
    html += " · refreshes every " + std::to_string(page.refresh_seconds) + " s";
  }
  html +=
      " · <a href=\"/metrics\">/metrics</a> · <a href=\"/-/healthy\">/-/healthy</a> · "
      "<a href=\"/-/ready\">/-/ready</a></footer>\n</body></html>\n";
  return html;
}

}  // namespace sloprobe::daemon
