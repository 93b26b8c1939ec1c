import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCompareArgs, ratios, renderComparison, summarize } from './compare.js';

test('compare flags: defaults, values, and clear errors', () => {
  const o = parseCompareArgs(['--baseline', '/tmp/spine', '--slices', '6']);
  assert.equal(o.baseline, '/tmp/spine');
  assert.equal(o.baselineTarget, 'skiff');
  assert.equal(o.target, 'skiff-rules');
  assert.equal(o.slices, 6);
  assert.equal(o.seconds, 4);
  assert.deepEqual(o.nodeFlags, []);
  const tuned = parseCompareArgs([
    '--baseline',
    'x',
    '--node-flags',
    '--max-semi-space-size=4  --foo',
  ]);
  assert.deepEqual(tuned.nodeFlags, ['--max-semi-space-size=4', '--foo']);
  assert.throws(() => parseCompareArgs([]), /--baseline is required/);
  assert.throws(() => parseCompareArgs(['--baseline']), /--baseline needs a value/);
  assert.throws(() => parseCompareArgs(['--baseline', 'x', '--slices', '0']), /whole number/);
  assert.throws(
    () => parseCompareArgs(['--baseline', 'x', '--speed', '1']),
    /unknown flag --speed/,
  );
});

/** A slice's fixed-rate figures: p50, p99 (ms), vCPU per 1000 req/s of both sidecars. */
const rate = (p50Ms: number, p99Ms: number, cpu: number) => ({
  p50Ms,
  p99Ms,
  outCpuPer1k: cpu,
  inCpuPer1k: cpu,
});

test('ratios pair slice i with slice i and take medians; the report shows them', () => {
  const base = [
    { rps: 1000, outUs: 100, inUs: 80, outRssMb: 90, inRssMb: 80, ...rate(2, 4, 0.1) },
    { rps: 2000, outUs: 50, inUs: 40, outRssMb: 100, inRssMb: 80, ...rate(2, 4, 0.1) },
    { rps: 1000, outUs: 100, inUs: 80, outRssMb: 95, inRssMb: 80, ...rate(2, 4, 0.1) },
  ];
  // Slice by slice: 0.9, 0.95, 1.2 throughput; 1.1, 1.2, 1.0 outbound CPU.
  const subject = [
    { rps: 900, outUs: 110, inUs: 80, outRssMb: 105, inRssMb: 84, ...rate(2.2, 4, 0.12) },
    { rps: 1900, outUs: 60, inUs: 44, outRssMb: 110, inRssMb: 84, ...rate(2.2, 5, 0.11) },
    { rps: 1200, outUs: 100, inUs: 80, outRssMb: 100, inRssMb: 80, ...rate(2, 4, 0.1) },
  ];
  const r = ratios(subject, base);
  assert.equal(r.rps, 0.95);
  assert.ok(Math.abs(r.outUs - 1.1) < 1e-9);
  assert.equal(r.inUs, 1);
  assert.deepEqual(r.rpsBySlice, [0.9, 0.95, 1.2]);
  const md = renderComparison(
    {
      baseline: '/tmp/spine',
      baselineTarget: 'skiff',
      target: 'skiff-rules',
      slices: 3,
      seconds: 4,
      nodeFlags: [],
    },
    summarize(base, [80, 78]),
    summarize(subject, [88, 80]),
    r,
  );
  assert.match(md, /throughput 0\.950×, CPU per request outbound 1\.100×, inbound 1\.000×/);
  // Slice by slice: p50 1.1, 1.1, 1; p99 1, 1.25, 1; CPU 1.2, 1.1, 1.
  assert.match(
    md,
    /at 1000 req\/s: p50 1\.100×, p99 1\.000×, CPU per 1000 req\/s outbound 1\.100×/,
  );
  assert.match(
    md,
    /\| baseline \(skiff, \/tmp\/spine\) \| 1000 \| 100\.0 \| 80\.0 \| 2\.00 \/ 4\.00 \| 0\.100 \/ 0\.100 \| 80\.0 \/ 78\.0 \| 100\.0 \/ 80\.0 \|/,
  );
  assert.match(
    md,
    /idle RSS outbound 1\.100×, inbound 1\.026×; peak RSS outbound 1\.100×, inbound 1\.050×/,
  );
});
