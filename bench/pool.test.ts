import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCompareLog, pool, renderPooled } from './pool.js';

const LOG = `baseline slice 1: 7000 req/s, CPU µs/req out 100.0 in 80.0; at 1000 req/s p50 2.00 p99 8.00 ms
subject slice 1: 7800 req/s, CPU µs/req out 90.0 in 80.0; at 1000 req/s p50 2.20 p99 6.00 ms, vCPU per 1000 req/s out 0.180 in 0.150
subject slice 2: 7000 req/s, CPU µs/req out 100.0 in 72.0; at 1000 req/s p50 2.00 p99 8.00 ms, vCPU per 1000 req/s out 0.200 in 0.150
baseline slice 2: 7000 req/s, CPU µs/req out 100.0 in 80.0; at 1000 req/s p50 2.00 p99 8.00 ms, vCPU per 1000 req/s out 0.200 in 0.150
subject slice 3: 1 req/s, CPU µs/req out 1.0 in 1.0; at 1000 req/s p50 1.00 p99 1.00 ms
| side | req/s | the summary table is not a slice |
`;

test('slices are paired by number, in either order; an unpaired slice is left out', () => {
  const pairs = parseCompareLog(LOG);
  assert.equal(pairs.length, 2);
  const [first, second] = pairs;
  assert.deepEqual(first?.[0], {
    rps: 7800,
    outUs: 90,
    inUs: 80,
    p50Ms: 2.2,
    p99Ms: 6,
    outCpuPer1k: 0.18,
  });
  assert.equal(first?.[1].outCpuPer1k, undefined, 'older logs have no CPU per 1000 req/s');
  assert.equal(second?.[1].outCpuPer1k, 0.2);
});

test('pooled ratios: median, an interval around it, the share over 10%', () => {
  const pairs = parseCompareLog(LOG);
  const p50 = pool(pairs, 'p50Ms');
  assert.ok(p50);
  assert.equal(p50.pairs, 2);
  assert.equal(p50.median, (1.1 + 1) / 2);
  assert.ok(p50.low >= 1 && p50.high <= 1.1 + 1e-9 && p50.low <= p50.median);
  assert.equal(p50.over10, 0, '2.2 / 2.0 is 1.10, not above it');
  const rps = pool(pairs, 'rps');
  assert.equal(rps?.over10, 0.5);
  // Only the pair whose both sides carry the figure counts.
  assert.equal(pool(pairs, 'outCpuPer1k')?.pairs, 1);
  assert.equal(pool([], 'rps'), undefined);
  // Seeded: the same input gives the same interval.
  assert.deepEqual(pool(pairs, 'outUs'), pool(pairs, 'outUs'));
});

test('the report names each figure with its pairs', () => {
  const text = renderPooled(1, parseCompareLog(LOG));
  assert.match(text, /^1 runs, 2 slice pairs/);
  assert.match(text, /\| p50 at 1000 req\/s \| 2 \| 1\.050× \| /);
  assert.match(text, /\| CPU per 1000 req\/s, outbound \| 1 \| 1\.000× \| /);
});
