#pragma once

#include <prometheus/metric_family.h>

#include <map>
#include <string>
#include <vector>

// Reads values out of Registry::Collect() results, the way a query would:
// by sample name (histograms as _bucket/_count/_sum) and exact label set.
namespace sloprobe::test {

using LabelSet = std::map<std::string, std::string>;

// The value of the one sample that matches, or NaN when there is none.
double MetricValue(const std::vector<prometheus::MetricFamily>& families, const std::string& name,
                   const LabelSet& labels);

// MetricValue, with 0 for a series that does not exist (yet).
double ValueOrZero(const std::vector<prometheus::MetricFamily>& families, const std::string& name,
                   const LabelSet& labels);

// Finished runs of one probe (sloprobe_probe_runs_total), 0 before the first.
double ProbeRuns(const std::vector<prometheus::MetricFamily>& families, const std::string& probe);

bool HasSeries(const std::vector<prometheus::MetricFamily>& families, const std::string& name,
               const LabelSet& labels);

// Sum over every series of `name` whose labels include `subset`.
double SumValues(const std::vector<prometheus::MetricFamily>& families, const std::string& name,
                 const LabelSet& subset);

}  // namespace sloprobe::test
