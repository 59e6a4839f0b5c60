// Decodes sloprobe's OTLP payloads with the official OpenTelemetry protobuf
// definitions and checks them, field by field, against the /metrics text of
// the same snapshot. Usage: node check.js DIR (with metrics.txt, request.pb,
// request.json written by sloprobe-otlp-dump). Exits 1 on the first mismatch.
"use strict";
const fs = require("fs");
const path = require("path");
const assert = require("assert/strict");
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root.js");

const Request = root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
const dir = process.argv[2];
// Plain objects in the OTLP JSON mapping's shape; empty repeated fields (an
// unlabelled point's attributes, exemplars) are left out on both sides.
const prune = (v) => {
  if (Array.isArray(v)) return v.map(prune);
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, x]) => !(Array.isArray(x) && x.length === 0))
      .map(([k, x]) => [k, prune(x)]),
  );
};
const asObject = (message) =>
  prune(Request.toObject(message, { longs: String, enums: Number, arrays: true, defaults: false }));

// Protobuf, decoded by the official definitions (which reject wrong wire
// types), and JSON, read by the same definitions, must say the same.
const fromProtobuf = asObject(Request.decode(fs.readFileSync(path.join(dir, "request.pb"))));
// fromObject reads the OTLP JSON mapping (64-bit integers as strings) but
// skips unknown keys, so the JSON must also come back unchanged: no field the
// schema does not have, none of the wrong type.
const json = JSON.parse(fs.readFileSync(path.join(dir, "request.json"), "utf8"));
const fromJson = asObject(Request.fromObject(json));
assert.deepEqual(fromJson, prune(json), "request.json has fields or types the schema does not");
assert.deepEqual(fromJson, fromProtobuf, "protobuf and JSON encodings differ");

// The Prometheus text: sample name + sorted labels -> value.
const samples = new Map();
const key = (name, labels) =>
  name + "{" + Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(",") + "}";
for (const line of fs.readFileSync(path.join(dir, "metrics.txt"), "utf8").split("\n")) {
  if (line === "" || line.startsWith("#")) continue;
  const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
  assert.ok(m, `unparsable sample line: ${line}`);
  const labels = {};
  for (const [, k, v] of (m[2] || "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
    labels[k] = JSON.parse(`"${v}"`);
  }
  samples.set(key(m[1], labels), Number(m[3]));
}

// /metrics prints doubles rounded to 15 significant digits; OTLP carries
// them exactly. Counts are integers and must match exactly.
const near = (actual, expected, what) =>
  assert.ok(
    Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)),
    `${what}: OTLP ${actual}, /metrics ${expected}`,
  );
const used = new Set();
const take = (name, labels) => {
  const k = key(name, labels);
  assert.ok(samples.has(k), `no /metrics sample ${k}`);
  used.add(k);
  return samples.get(k);
};
const attrs = (point) =>
  Object.fromEntries((point.attributes || []).map((a) => [a.key, a.value.stringValue]));

const [rm] = fromProtobuf.resourceMetrics;
const resource = attrs(rm.resource);
assert.equal(resource["service.name"], "sloprobe");
const [sm] = rm.scopeMetrics;
assert.equal(sm.scope.name, "sloprobe");
let points = 0;
for (const metric of sm.metrics) {
  const kinds = ["gauge", "sum", "histogram"].filter((k) => metric[k]);
  assert.equal(kinds.length, 1, `${metric.name}: exactly one data kind`);
  assert.ok(metric.description, `${metric.name}: no description`);
  if (metric.name.endsWith("_seconds")) assert.equal(metric.unit, "s", metric.name);
  if (metric.sum) {
    assert.equal(metric.sum.aggregationTemporality, 2, `${metric.name}: cumulative`);
    assert.equal(metric.sum.isMonotonic, true, `${metric.name}: monotonic`);
    assert.ok(!metric.name.endsWith("_total"), `${metric.name}: OTLP counters drop _total`);
  }
  if (metric.histogram) assert.equal(metric.histogram.aggregationTemporality, 2, metric.name);
  for (const p of metric[kinds[0]].dataPoints) {
    points += 1;
    const labels = attrs(p);
    assert.ok(BigInt(p.timeUnixNano) > 0n, `${metric.name}: no time`);
    if (metric.sum || metric.histogram) {
      const start = BigInt(p.startTimeUnixNano ?? 0);
      assert.ok(start > 0n && start <= BigInt(p.timeUnixNano), `${metric.name}: start ${start}`);
    }
    if (metric.sum) {
      near(p.asDouble, take(metric.name + "_total", labels), `${metric.name} ${key("", labels)}`);
    } else if (metric.gauge) {
      near(p.asDouble, take(metric.name, labels), `${metric.name} ${key("", labels)}`);
    } else {
      const count = Number(p.count);
      const bounds = p.explicitBounds || [];
      const counts = (p.bucketCounts || []).map(Number);
      assert.equal(counts.length, bounds.length + 1, `${metric.name}: bucket count length`);
      assert.equal(counts.reduce((a, b) => a + b, 0), count, `${metric.name}: buckets sum to count`);
      for (let i = 1; i < bounds.length; i++) assert.ok(bounds[i] > bounds[i - 1], metric.name);
      assert.equal(count, take(metric.name + "_count", labels), `${metric.name}_count`);
      near(p.sum ?? 0, take(metric.name + "_sum", labels), `${metric.name}_sum`);
      // Cumulative counts at each bound are the Prometheus le buckets.
      const le = new Map();
      for (const [k, v] of samples) {
        if (!k.startsWith(metric.name + "_bucket{")) continue;
        const m = k.match(/le="([^"]*)"/);
        const rest = k.replace(/,?le="[^"]*"/, "").replace("{,", "{");
        if (rest === key(metric.name + "_bucket", labels)) {
          le.set(m[1] === "+Inf" ? Infinity : Number(m[1]), v);
          used.add(k);
        }
      }
      let cumulative = 0;
      bounds.forEach((b, i) => {
        cumulative += counts[i];
        assert.equal(le.get(b), cumulative, `${metric.name}{le=${b}}`);
      });
      assert.equal(le.get(Infinity), count, `${metric.name}{le=+Inf}`);
      assert.equal(le.size, bounds.length + 1, `${metric.name}: bucket set`);
    }
  }
}
// Every sample /metrics showed is in the export.
const missing = [...samples.keys()].filter((k) => !used.has(k));
assert.deepEqual(missing, [], "samples on /metrics missing from the OTLP export");
console.log(`otlp_schema: 1 passed, 0 failed (${sm.metrics.length} metrics, ${points} points)`);
