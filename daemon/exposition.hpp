#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace sloprobe::daemon {

// The Prometheus text format (0.0.4), written straight into one string.
// Byte for byte what prometheus::TextSerializer writes (the same order,
// number formatting and escaping), without its stream: several times faster
// and with one allocation that grows, which matters at 10,000 probes (a
// million samples per scrape).
std::string WriteText(const std::vector<prometheus::MetricFamily>& families);

// Appends `labels` to every series of `families`: the configured
// external_labels. A series that already has a label of that name keeps its
// own value.
void AddLabels(std::vector<prometheus::MetricFamily>& families,
               const std::vector<prometheus::ClientMetric::Label>& labels);

}  // namespace sloprobe::daemon
