// The report's arithmetic (added latency per hop, ratios, goals) and what it says when targets
// are missing or failed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LoadSettings, TargetResult } from './measure.js';
import { derive, renderReport, type RunInfo } from './report.js';

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
