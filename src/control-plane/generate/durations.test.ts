import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goDurationSeconds, toProtoDuration } from './durations.js';

test('Go durations become proto3 JSON durations with nanosecond precision', () => {
  assert.equal(toProtoDuration('10s'), '10s');
  assert.equal(toProtoDuration('1h2m3.5s'), '3723.5s');
  assert.equal(toProtoDuration('100ms'), '0.1s');
  assert.equal(toProtoDuration('1.5ms'), '0.0015s');
  assert.equal(toProtoDuration('250us'), '0.00025s');
  assert.equal(toProtoDuration('250µs'), '0.00025s');
  assert.equal(toProtoDuration('3ns'), '0.000000003s');
  assert.equal(toProtoDuration('0s'), '0s');
  assert.equal(toProtoDuration('2m'), '120s');
  // `ms` is not read as minutes then seconds.
  assert.equal(goDurationSeconds('5ms'), 0.005);
  assert.equal(goDurationSeconds('1m30s'), 90);
});
