import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  medianInterval,
  parseCompareLog,
  ratiosOf,
  renderPooled,
  summarizeRatios,
} from './pool.js';

const LOG = `baseline slice 1: 7000 req/s, CPU µs/req out 100.0 in 80.0; at 1000 req/s p50 2.00 p99 8.00 ms
subject slice 1: 6000 req/s, CPU µs/req out 90.0 in 80.0; at 1000 req/s p50 2.20 p99 6.00 ms, vCPU per 1000 req/s out 0.180 in 0.150
subject slice 2: 7000 req/s, CPU µs/req out 100.0 in 72.0; at 1000 req/s p50 2.00 p99 8.00 ms, vCPU per 1000 req/s out 0.200 in 0.150
baseline slice 2: 7000 req/s, CPU µs/req out 100.0 in 80.0; at 1000 req/s p50 2.00 p99 8.00 ms, vCPU per 1000 req/s out 0.200 in 0.100
subject slice 3: 1 req/s, CPU µs/req out 1.0 in 1.0; at 1000 req/s p50 1.00 p99 1.00 ms
| side | req/s | the summary table is not a slice |
`;

test('slices are paired by number, in either order; an unpaired slice is left out', () => {
  const pairs = parseCompareLog(LOG);
  assert.equal(pairs.length, 2);
  const [first] = pairs;
  assert.deepEqual(first?.[0], {
    rps: 6000,
    outUs: 90,
    inUs: 80,
    p50Ms: 2.2,
    p99Ms: 6,
    outCpuPer1k: 0.18,
    inCpuPer1k: 0.15,
  });
  assert.equal(first?.[1].outCpuPer1k, undefined, 'older logs have no CPU per 1000 req/s');
  assert.deepEqual(ratiosOf(pairs, 'inCpuPer1k'), [0.15 / 0.1]);
});

test('what cannot be read is an error naming the line', () => {
  assert.throws(
    () => parseCompareLog('subject slice 1: NaN req/s, CPU µs/req out 1 in 1', 'run.log'),
    /^Error: run\.log:1: not a slice line/,
  );
  const twice = LOG + LOG;
  assert.throws(() => parseCompareLog(twice, 'both.log'), /both\.log:7: baseline slice 1 again/);
});

test('the median interval: binomial coverage of at least 90%, none for fewer than 5', () => {
  assert.equal(medianInterval([1, 2, 3, 4]), undefined);
  assert.deepEqual(medianInterval([1, 2, 3, 4, 5]), [1, 5]);
  // 12 samples: [x(3), x(10)] covers 96.1%, [x(4), x(9)] only 85.4%.
  const twelve = Array.from({ length: 12 }, (_, i) => i + 1);
  assert.deepEqual(medianInterval(twelve), [3, 10]);
  // 180 samples: order statistics 79 and 102.
  const many = Array.from({ length: 180 }, (_, i) => i + 1);
  assert.deepEqual(medianInterval(many), [79, 102]);
});

test('worse means lower throughput, and higher everything else', () => {
  assert.equal(summarizeRatios([0.8, 1.2, 1.0], 'rps')?.worse10, 1 / 3);
  assert.equal(summarizeRatios([0.8, 1.2, 1.0], 'p50Ms')?.worse10, 1 / 3);
  assert.equal(summarizeRatios([0.8, 0.85, 1.05], 'p50Ms')?.worse10, 0);
  assert.equal(summarizeRatios([], 'rps'), undefined);
});

test('the report: by run and by slice pair', () => {
  const text = renderPooled([parseCompareLog(LOG)]);
  assert.match(text, /^1 runs, 2 slice pairs/);
  assert.match(
    text,
    /\| p50 at 1000 req\/s \| 1 \| 1\.050× \| \(too few\) \| 0% \| 2 \| 1\.050× \| \(too few\) \| 0% \|/,
  );
  assert.match(
    text,
    /\| throughput \| 1 \| 0\.929× \| \(too few\) \| 0% \| 2 \| 0\.929× \| \(too few\) \| 50% \|/,
  );
});
