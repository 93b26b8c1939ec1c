// The rounds' arithmetic: medians, the interleaving order, a target's result from its rounds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { combineRounds, median, roundOrder, type RoundResult } from './measure.js';
import type { RunningTarget } from './targets/types.js';

test('median: the middle value, the mean of the middle two, undefined for none', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([]), undefined);
});

test('rounds alternate forward and reverse, so drift weighs on every target alike', () => {
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 1), ['c', 'b', 'a']);
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 2), ['a', 'b', 'c']);
});

test('a target from its rounds: medians, counts summed, the largest peak, per-round figures', () => {
  const target: RunningTarget = {
    name: 'skiff',
    load: { connectUrl: 'http://127.0.0.1:1' },
    hops: [
      { label: 'outbound', pids: [1] },
      { label: 'inbound', pids: [2] },
    ],
    stop: async () => {},
  };
  const round = (rps: number, p50: number, cpu: number, peak: number): RoundResult => ({
    wrk: { requestsPerSec: rps, requests: rps * 3, non2xx: 1, socketErrors: 0 },
    hey: {
      requestsPerSec: 1000,
      percentiles: new Map([
        [50, p50 / 1000],
        [99, (p50 * 3) / 1000],
      ]),
      responses: 3000,
      failures: 0,
    },
    cpuPer1000: [cpu, cpu / 2],
    saturationCpuPer1000: [cpu / 2, cpu / 4],
    rssPeak: [peak, peak],
  });
  const r = combineRounds({ target, rssIdle: [10, 20], script: undefined }, [
    round(1000, 2, 0.2, 50),
    round(3000, 1, 0.1, 70),
    round(2000, 3, 0.4, 60),
  ]);
  assert.equal(r.wrk?.requestsPerSec, 2000);
  assert.equal(r.wrk?.requests, 18000);
  assert.equal(r.wrk?.non2xx, 3);
  assert.equal(r.hey?.percentiles.get(50), 0.002);
  assert.equal(r.hey?.responses, 9000);
  assert.equal(r.hops[0]?.cpuPer1000, 0.2);
  assert.equal(r.hops[1]?.cpuPer1000, 0.1);
  assert.equal(r.hops[0]?.saturationCpuPer1000, 0.1);
  assert.equal(r.hops[0]?.rssIdleBytes, 10);
  assert.equal(r.hops[1]?.rssPeakBytes, 70);
  assert.equal(r.rounds?.length, 3);
  assert.equal(r.rounds?.[1]?.rps, 3000);
  assert.equal(r.rounds?.[1]?.p50Ms, 1);
  assert.ok(Math.abs(r.rounds![2]!.cpuPerProxy! - 0.3) < 1e-9);
  assert.equal(r.rounds?.[2]?.cpuOutbound, 0.4);
});
