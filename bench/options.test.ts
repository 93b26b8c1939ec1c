// Flags of `npm run bench`: defaults, target selection, refusals.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BenchUsageError, parseBenchArgs } from './options.js';

test('defaults: every target, 4 rounds of wrk -t1 -c32 3 s and hey 1000 req/s, 10 workers, 3 s', () => {
  const o = parseBenchArgs([]);
  assert.deepEqual(o.targets, [
    'direct',
    'skiff',
    'skiff-plaintext',
    'skiff-bare',
    'skiff-telemetry',
    'skiff-rules',
    'skiff-secure',
    'nginx',
    'haproxy',
  ]);
  assert.deepEqual(o.settings, {
    warmupSeconds: 3,
    wrkSeconds: 3,
    wrkThreads: 1,
    wrkConnections: 32,
    rate: 1000,
    heyWorkers: 10,
    heySeconds: 3,
    rounds: 4,
  });
  assert.equal(o.out, 'bench/results/latest.md');
  assert.equal(o.profile, false);
  assert.deepEqual(o.skiffNodeFlags, []);
});

test('node flags for skiff split on spaces', () => {
  const o = parseBenchArgs(['--skiff-node-flags= --max-semi-space-size=2  --no-opt ']);
  assert.deepEqual(o.skiffNodeFlags, ['--max-semi-space-size=2', '--no-opt']);
});

test('targets come back in the canonical order, direct first', () => {
  const o = parseBenchArgs(['--targets', 'nginx,skiff,direct', '--rate', '500', '--profile']);
  assert.deepEqual(o.targets, ['direct', 'skiff', 'nginx']);
  assert.equal(o.settings.rate, 500);
  assert.equal(o.profile, true);
});

test('refuses unknown targets, flags and non-numbers', () => {
  assert.throws(() => parseBenchArgs(['--targets', 'envoy']), BenchUsageError);
  assert.throws(() => parseBenchArgs(['--fast']), BenchUsageError);
  assert.throws(() => parseBenchArgs(['--rate', 'lots']), BenchUsageError);
  assert.throws(() => parseBenchArgs(['--duration', '0']), BenchUsageError);
  assert.throws(() => parseBenchArgs(['--rounds', '0']), BenchUsageError);
});
