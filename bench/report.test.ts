// The report's arithmetic (added latency per hop, ratios, goals) and what it says when targets
// are missing or failed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LoadSettings, TargetResult } from './measure.js';
import { derive, pairedRatio, renderReport, type RunInfo } from './report.js';

const MB = 1024 * 1024;

function result(
  name: TargetResult['name'],
  o: { rps: number; p50: number; p99: number; cpu?: [number, number]; rss?: number },
): TargetResult {
  return {
    name,
    wrk: { requestsPerSec: o.rps, requests: o.rps * 8, non2xx: 0, socketErrors: 0 },
    hey: {
      requestsPerSec: 1000,
      percentiles: new Map([
        [50, o.p50 / 1000],
        [99, o.p99 / 1000],
      ]),
      responses: 10000,
      failures: 0,
    },
    hops: o.cpu
      ? [
          {
            label: 'outbound',
            cpuPer1000: o.cpu[0],
            rssIdleBytes: (o.rss ?? 10) * MB,
            rssPeakBytes: 2 * (o.rss ?? 10) * MB,
          },
          {
            label: 'inbound',
            cpuPer1000: o.cpu[1],
            rssIdleBytes: (o.rss ?? 10) * MB - MB,
            rssPeakBytes: (o.rss ?? 10) * MB,
          },
        ]
      : [],
  };
}

const SETTINGS: LoadSettings = {
  warmupSeconds: 3,
  wrkThreads: 1,
  wrkConnections: 32,
  wrkSeconds: 8,
  heyWorkers: 10,
  rate: 1000,
  heySeconds: 10,
  rounds: 3,
};

const INFO: RunInfo = {
  startedAt: '2025-01-01T00:00:00Z',
  command: 'npm run bench',
  machine: '2 × test CPU',
  versions: ['skiff 0.1.0'],
  missing: ['haproxy (not on PATH)'],
  loadAverage: { before: [0.1, 0.2, 0.3], after: [0.4, 0.5, 0.6] },
  settings: SETTINGS,
  skipped: [{ name: 'haproxy', why: 'haproxy is not installed' }],
};

const direct = result('direct', { rps: 20000, p50: 0.5, p99: 1.5 });
const skiff = result('skiff', { rps: 5000, p50: 1.3, p99: 3.5, cpu: [0.12, 0.1], rss: 50 });
const nginx = result('nginx', { rps: 15000, p50: 0.7, p99: 1.9, cpu: [0.03, 0.04], rss: 12 });

describe('derive', () => {
  test('added latency is over direct, split over the hops', () => {
    const d = derive(skiff, direct);
    assert.ok(Math.abs(d.addedP50PerHopMs! - 0.4) < 1e-9);
    assert.ok(Math.abs(d.addedP99PerHopMs! - 1.0) < 1e-9);
    assert.ok(Math.abs(d.cpuPerProxy! - 0.11) < 1e-9);
    assert.equal(d.cpuMaxProxy, 0.12);
    assert.equal(d.rssIdleMaxMb, 50);
    assert.equal(d.rssPeakMaxMb, 100);
  });

  test('without direct there is nothing to add to', () => {
    assert.equal(derive(skiff, undefined).addedP50PerHopMs, undefined);
    assert.equal(derive(direct, direct).addedP50PerHopMs, undefined);
  });
});

describe('renderReport', () => {
  const md = renderReport(INFO, [direct, skiff, nginx]);

  test('has a row per target with ratios to direct', () => {
    assert.match(
      md,
      /^\| direct \| 0 \| 20000 \| 1\.00× \| 0\.50 \| 1\.50 \| — \| — \| — \| — \| — \|$/m,
    );
    assert.match(
      md,
      /^\| skiff \| 2 \| 5000 \| 0\.25× \| 1\.30 \| 3\.50 \| 0\.40 \| 1\.00 \| 0\.120 \/ 0\.100 \| 50\.0 \/ 49\.0 \| 100\.0 \/ 50\.0 \|$/m,
    );
  });

  test('compares skiff with nginx, and says — for the missing haproxy', () => {
    assert.match(md, /^\| throughput \(req\/s\) \| 5000 \| 15000 \| — \| 0\.33× \| — \|$/m);
    assert.match(md, /^\| added p50 per hop \(ms\) \| 0\.40 \| 0\.10 \| — \| 4\.00× \| — \|$/m);
    assert.match(md, /\*\*skipped\*\* haproxy: haproxy is not installed/);
    assert.match(md, /\*\*missing\*\*: haproxy/);
  });

  test('judges the goals per sidecar', () => {
    assert.match(md, /^\| added p50 latency per hop \| ≤ 0\.5 ms \| 0\.40 \| yes \|$/m);
    assert.match(
      md,
      /^\| CPU per 1000 req\/s \(the busier sidecar\) \| ≤ 0\.15 vCPU \| 0\.120 \| yes \|$/m,
    );
    const fat = result('skiff', { rps: 5000, p50: 2.5, p99: 3.5, cpu: [0.2, 0.1], rss: 90 });
    const worse = renderReport(INFO, [direct, fat]);
    assert.match(worse, /^\| added p50 latency per hop \| ≤ 0\.5 ms \| 1\.00 \| \*\*no\*\* \|$/m);
    assert.match(
      worse,
      /^\| RSS idle \(the larger sidecar\) \| ≤ 60 MB \| 90\.0 \| \*\*no\*\* \|$/m,
    );
  });

  test('a failed target says why, and errors seen by the load generators are listed', () => {
    const failed: TargetResult = { name: 'skiff', hops: [], error: 'timed out waiting\nmore' };
    const noisy: TargetResult = {
      ...nginx,
      wrk: { requestsPerSec: 100, requests: 800, non2xx: 12, socketErrors: 1 },
    };
    const out = renderReport(INFO, [direct, failed, noisy]);
    assert.match(out, /^\| skiff \| failed: timed out waiting \|/m);
    assert.match(
      out,
      /nginx\*\*: wrk saw 12 non-2xx responses and 1 socket errors of 800 requests/,
    );
    assert.match(out, /^\| added p50 latency per hop \| ≤ 0\.5 ms \| — \| not measured \|$/m);
  });
});

describe('skiff with the rule set against skiff-plaintext (the spine ran plaintext)', () => {
  const withRounds = (r: TargetResult, rounds: { rps: number; cpu: number }[]): TargetResult => ({
    ...r,
    rounds: rounds.map((x) => ({ rps: x.rps, cpuPerProxy: x.cpu, cpuOutbound: x.cpu })),
  });
  const bare = withRounds({ ...skiff, name: 'skiff-plaintext' }, [
    { rps: 5000, cpu: 0.1 },
    { rps: 2500, cpu: 0.2 },
    { rps: 4000, cpu: 0.12 },
  ]);
  const rules = withRounds(
    { ...result('skiff-rules', { rps: 4000, p50: 1.3, p99: 3.5, cpu: [0.13, 0.1] }) },
    [
      { rps: 4500, cpu: 0.11 },
      { rps: 2000, cpu: 0.24 },
      { rps: 4000, cpu: 0.12 },
    ],
  );

  test('ratios pair the rounds: their median and range', () => {
    const r = pairedRatio(bare.rounds, rules.rounds, 'rps');
    assert.equal(r?.median, 0.9);
    assert.equal(r?.min, 0.8);
    assert.equal(r?.max, 1);
    assert.equal(r?.rounds, 3);
    assert.equal(pairedRatio(bare.rounds, undefined, 'rps'), undefined);
  });

  test('the report gives the paired ratios and whether they are within 10%', () => {
    const md = renderReport(INFO, [direct, bare, rules]);
    assert.match(
      md,
      /^\| throughput \(req\/s\) \| 5000 \| 4000 \| 0\.90× \| 0\.80×–1\.00× \(3\) \| — \| — \| yes \|$/m,
    );
    assert.match(
      md,
      /^\| CPU per 1000 req\/s, outbound proxy \| 0\.120 \| 0\.130 \| 1\.10× \| 1\.00×–1\.20× \(3\) \| — \| — \| yes \|$/m,
    );
    const worse = withRounds(rules, [
      { rps: 4000, cpu: 0.2 },
      { rps: 2000, cpu: 0.3 },
      { rps: 3000, cpu: 0.2 },
    ]);
    assert.match(renderReport(INFO, [bare, worse]), /^\| throughput .*\| \*\*no\*\* \|$/m);
    // Route lookup cost against the outbound's CPU per request at saturation (0.1 ms per 1000).
    const costed: TargetResult = {
      ...rules,
      hops: rules.hops.map((h) => ({ ...h, saturationCpuPer1000: 0.1 })),
      routeCost: { routesTried: 58, nsPerLookup: 500 },
    };
    assert.match(
      renderReport(INFO, [bare, costed]),
      /^- skiff-rules: 0\.50 µs per lookup, 58 route\(s\) tried, 0\.5% of the outbound proxy's CPU per request at saturation$/m,
    );
    // Measured head to head, the verdict follows the head-to-head ratio.
    const h2hBare: TargetResult = {
      ...bare,
      headToHead: { 'skiff-rules': [{ rps: 3000 }, { rps: 3000 }] },
    };
    const h2hWorse: TargetResult = {
      ...worse,
      headToHead: { 'skiff-plaintext': [{ rps: 2900 }, { rps: 2800 }] },
    };
    assert.match(
      renderReport(INFO, [h2hBare, h2hWorse]),
      /^\| throughput \(req\/s\) \| 5000 \| 4000 \| 0\.80× \| 0\.75×–0\.80× \(3\) \| 0\.95× \| 0\.93×–0\.97× \(2\) \| yes \|$/m,
    );
  });
});

describe('the telemetry variants against skiff-bare', () => {
  const rounds = (rps: number[], cpu: number[]) =>
    rps.map((r, i) => ({ rps: r, cpuPerProxy: cpu[i]!, saturationCpuPerProxy: cpu[i]! }));
  const bare: TargetResult = {
    ...result('skiff-bare', { rps: 5000, p50: 1.2, p99: 3, cpu: [0.1, 0.1] }),
    rounds: rounds([5000, 4000], [0.1, 0.1]),
    headToHead: {
      skiff: rounds([3000, 3000], [0.1, 0.1]),
      'skiff-telemetry': rounds([2000, 2000], [0.1, 0.1]),
    },
  };
  const metrics: TargetResult = {
    ...result('skiff', { rps: 4500, p50: 1.3, p99: 3.5, cpu: [0.11, 0.11] }),
    rounds: rounds([4500, 3800], [0.11, 0.11]),
    headToHead: { 'skiff-bare': rounds([2850, 2700], [0.105, 0.11]) },
  };
  const full: TargetResult = {
    ...result('skiff-telemetry', { rps: 4000, p50: 1.4, p99: 4, cpu: [0.125, 0.125] }),
    rounds: rounds([4000, 3000], [0.125, 0.125]),
    headToHead: { 'skiff-bare': rounds([1600, 1500], [0.12, 0.13]) },
    notes: ['outbound: 10 access log lines', 'Zipkin receiver: 3 spans'],
  };
  const md = renderReport(INFO, [direct, metrics, bare, full]);

  test('one section per comparison present, skiff-rules absent', () => {
    assert.match(md, /^### skiff-telemetry ÷ skiff-bare$/m);
    assert.match(md, /^### skiff ÷ skiff-bare$/m);
    assert.match(md, /^### skiff-telemetry ÷ skiff$/m);
    assert.doesNotMatch(md, /skiff-rules ÷/);
    assert.match(
      md,
      /^- skiff-telemetry: outbound: 10 access log lines; Zipkin receiver: 3 spans$/m,
    );
  });

  test('all telemetry: interleaved and head-to-head ratios, no verdict, a cost line', () => {
    const section = md.slice(md.indexOf('### skiff-telemetry ÷ skiff-bare'));
    assert.match(
      section,
      /^\| throughput \(req\/s\) \| 5000 \| 4000 \| 0\.78× \| 0\.75×–0\.80× \(2\) \| 0\.78× \| 0\.75×–0\.80× \(2\) \|$/m,
    );
    assert.match(
      section,
      /^\| CPU per 1000 req\/s per proxy \(mean of 2\) \| 0\.100 \| 0\.125 \| 1\.25× \| 1\.25×–1\.25× \(2\) \| 1\.25× \| 1\.20×–1\.30× \(2\) \|$/m,
    );
    assert.match(
      section,
      /^Cost \(head to head medians\): throughput 0\.78× \(−22\.5%\), CPU per request per proxy at 1000 req\/s 1\.25× \(\+25\.0%\), at saturation 1\.25× \(\+25\.0%\)\.$/m,
    );
  });

  test('metrics alone are paired with their own head-to-head rounds', () => {
    const section = md.slice(md.indexOf('### skiff ÷ skiff-bare'));
    assert.match(
      section,
      /^\| throughput \(req\/s\) \| 5000 \| 4500 \| 0\.93× \| 0\.90×–0\.95× \(2\) \| 0\.93× \| 0\.90×–0\.95× \(2\) \|$/m,
    );
  });

  test('access logs and tracing over the metrics: interleaved only', () => {
    const section = md.slice(md.indexOf('### skiff-telemetry ÷ skiff'));
    assert.match(section, /the two were not loaded head to head/);
    assert.match(
      section,
      /^\| measure \| skiff \| skiff-telemetry \| ÷, interleaved \| range \|$/m,
    );
    assert.match(section, /^Cost \(interleaved medians\): throughput 0\.84× /m);
  });
});
