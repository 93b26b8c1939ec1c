import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  connectFailure,
  connectionTermination,
  noHealthyUpstream,
  upstreamOverflow,
  upstreamTimeout,
} from '../../../errors.js';
import type { ProxyError } from '../../../errors.js';
import type { RetryPolicy } from '../../../routes/route-action.js';
import { backoffMs, retriableError, retriableStatus } from './retry.js';

function policy(on: string, extra: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    on: new Set(on.split(',').filter(Boolean)),
    numRetries: 2,
    perTryTimeoutMs: 0,
    retriableStatusCodes: new Set(),
    avoidPreviousHosts: false,
    hostSelectionMaxAttempts: 1,
    backoffBaseMs: 25,
    backoffMaxMs: 250,
    ...extra,
  };
}

const perTryTimeout = (): ProxyError =>
  Object.assign(upstreamTimeout(), { code: 'ERR_PER_TRY_TIMEOUT' });

test('statuses: 5xx, gateway-error (502/503/504), retriable-4xx (409), retriable-status-codes', () => {
  const s = (on: string, status: number, codes: number[] = []) =>
    retriableStatus(policy(on, { retriableStatusCodes: new Set(codes) }), status);
  assert.ok(s('5xx', 500));
  assert.ok(s('5xx', 503));
  assert.ok(!s('5xx', 404));
  assert.ok(s('gateway-error', 502));
  assert.ok(s('gateway-error', 504));
  assert.ok(!s('gateway-error', 500));
  assert.ok(s('retriable-4xx', 409));
  assert.ok(!s('retriable-4xx', 404));
  assert.ok(s('retriable-status-codes', 418, [418]));
  // Codes without the condition, or the condition without codes, retry nothing.
  assert.ok(!s('5xx', 418, [418]));
  assert.ok(!s('retriable-status-codes', 503));
  // connect-failure and friends are about failures, not statuses.
  assert.ok(!s('connect-failure,refused-stream,reset', 503));
});

test('failures: connect failure, reset, per-try timeout; never overflow or no-healthy-host', () => {
  const e = (on: string, err: ProxyError) => retriableError(policy(on), err);
  const uf = connectFailure('ECONNREFUSED');
  const uc = connectionTermination();
  assert.ok(e('connect-failure', uf));
  assert.ok(e('5xx', uf));
  assert.ok(e('gateway-error', uf));
  assert.ok(e('reset', uf));
  assert.ok(!e('retriable-status-codes', uf));
  assert.ok(e('reset', uc));
  assert.ok(e('5xx', uc));
  assert.ok(!e('connect-failure', uc));
  // A per-try timeout is retried under 5xx or gateway-error; the route's timeout never is.
  assert.ok(e('5xx', perTryTimeout()));
  assert.ok(e('gateway-error', perTryTimeout()));
  assert.ok(!e('reset', perTryTimeout()));
  assert.ok(!e('5xx', upstreamTimeout()));
  assert.ok(!e('5xx,reset,connect-failure', upstreamOverflow()));
  assert.ok(!e('5xx,reset,connect-failure', noHealthyUpstream()));
});

test('regression: gateway-error retries a reset, as Envoy counts a reset as a 5xx', () => {
  assert.ok(retriableError(policy('gateway-error'), connectionTermination()));
});

test('back-off: full jitter within [0, base·(2^n − 1)], capped at max', () => {
  const p = policy('5xx', { backoffBaseMs: 25, backoffMaxMs: 250 });
  for (let i = 0; i < 1000; i++) {
    for (const [n, ceiling] of [
      [1, 25],
      [2, 75],
      [3, 175],
      [4, 250],
      [10, 250],
    ] as const) {
      const b = backoffMs(p, n);
      assert.ok(b >= 0 && b <= ceiling, `retry ${n}: ${b} > ${ceiling}`);
    }
  }
  // Over many draws the jitter spreads over the range (not stuck at either end).
  const draws = Array.from({ length: 2000 }, () => backoffMs(p, 4));
  assert.ok(Math.min(...draws) < 50 && Math.max(...draws) > 200);
});
