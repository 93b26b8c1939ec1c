import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  connectFailure,
  connectionTermination,
  noHealthyUpstream,
  refusedStream,
  remoteReset,
  upstreamOverflow,
  upstreamPerTryTimeout,
  upstreamTimeout,
} from '../../../errors.js';
import type { ProxyError } from '../../../errors.js';
import type { RetryPolicy } from '../../../routes/route-action.js';
import type { RequestView } from '../../../routes/matchers.js';
import type { Host } from '../../../upstream/host.js';
import { compileHeaderMatcher } from '../../../routes/matchers.js';
import {
  backoffMs,
  requestRetry,
  retriableError,
  retriableResponse,
  retriableStatus,
  retryExclusions,
  retryPriorities,
} from './retry.js';

function policy(on: string, extra: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    on: new Set(on.split(',').filter(Boolean)),
    numRetries: 2,
    perTryTimeoutMs: 0,
    retriableStatusCodes: new Set(),
    retriableHeaders: [],
    retriableRequestHeaders: [],
    avoidPreviousHosts: false,
    previousPriorities: undefined,
    hostSelectionMaxAttempts: 1,
    backoffBaseMs: 25,
    backoffMaxMs: 250,
    ...extra,
  };
}

const perTryTimeout = (): ProxyError => upstreamPerTryTimeout();

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

test('refused streams and remote resets (HTTP/2): refused-stream, reset, 5xx', () => {
  const e = (on: string, err: ProxyError) => retriableError(policy(on), err);
  assert.ok(e('refused-stream', refusedStream()));
  assert.ok(!e('refused-stream', remoteReset()));
  assert.ok(e('reset', remoteReset()));
  assert.ok(e('5xx', refusedStream()));
  assert.ok(!e('connect-failure', refusedStream()));
});

test('reset-before-request retries what never reached the upstream only', () => {
  assert.ok(retriableError(policy('reset-before-request'), connectFailure('ECONNREFUSED')));
  assert.ok(!retriableError(policy('reset-before-request'), connectionTermination()));
});

const headersOf =
  (h: Record<string, string>) =>
  (name: string): string | undefined =>
    h[name];

test('gRPC conditions read grpc-status from a trailers-only response head', () => {
  const r = (on: string, grpc: string) =>
    retriableResponse(policy(on), 200, headersOf({ 'grpc-status': grpc }));
  assert.ok(r('cancelled', '1'));
  assert.ok(r('deadline-exceeded', '4'));
  assert.ok(r('resource-exhausted', '8'));
  assert.ok(r('internal', '13'));
  assert.ok(r('unavailable', '14'));
  assert.ok(!r('unavailable', '13'));
  assert.ok(!r('5xx', '14'), 'a gRPC error is HTTP 200: not a 5xx');
  assert.ok(!retriableResponse(policy('unavailable'), 200, headersOf({})));
});

test('retriable-headers: response header matchers; x-envoy-ratelimited only under envoy-ratelimited', () => {
  const p = policy('retriable-headers', {
    retriableHeaders: [compileHeaderMatcher({ name: 'x-upstream-retry', exact_match: 'yes' }, 'h')],
  });
  assert.ok(retriableResponse(p, 200, headersOf({ 'x-upstream-retry': 'yes' })));
  assert.ok(!retriableResponse(p, 200, headersOf({ 'x-upstream-retry': 'no' })));
  assert.ok(!retriableResponse(policy('retriable-headers'), 200, headersOf({ a: 'b' })));
  const limited = headersOf({ 'x-envoy-ratelimited': 'true' });
  assert.ok(!retriableResponse(policy('5xx'), 503, limited), 'rate limited: not a plain 5xx');
  assert.ok(retriableResponse(policy('envoy-ratelimited'), 429, limited));
});

function view(headers: Record<string, string>): RequestView {
  return { method: 'GET', scheme: 'http', authority: 'a', path: '/', query: '', headers };
}

test('x-envoy-retry-* request headers widen the route policy (or make one)', () => {
  assert.equal(requestRetry(undefined, view({})).policy, undefined);
  const made = requestRetry(
    undefined,
    view({ 'x-envoy-retry-on': '5xx', 'x-envoy-max-retries': '3' }),
  );
  assert.deepEqual([...(made.policy?.on ?? [])], ['5xx']);
  assert.equal(made.policy?.numRetries, 3);
  const widened = requestRetry(
    policy('connect-failure'),
    view({
      'x-envoy-retry-grpc-on': 'unavailable,bogus',
      'x-envoy-retriable-status-codes': '418',
      'x-envoy-retriable-header-names': 'x-please-retry',
      'x-envoy-upstream-rq-per-try-timeout-ms': '250',
      'x-envoy-upstream-rq-timeout-ms': '1000',
    }),
  );
  assert.deepEqual([...(widened.policy?.on ?? [])].sort(), ['connect-failure', 'unavailable']);
  assert.ok(widened.policy?.retriableStatusCodes.has(418));
  assert.equal(widened.policy?.perTryTimeoutMs, 250);
  assert.equal(widened.timeoutMs, 1000);
  assert.ok(
    retriableResponse(
      { ...widened.policy!, on: new Set(['retriable-headers']) },
      200,
      headersOf({ 'x-please-retry': '1' }),
    ),
  );
});

test('retriable_request_headers: other requests are not retried', () => {
  const p = policy('5xx', {
    retriableRequestHeaders: [compileHeaderMatcher({ name: ':method', exact_match: 'GET' }, 'h')],
  });
  assert.equal(requestRetry(p, view({})).policy?.on.size, 1);
  const post = { ...view({}), method: 'POST' };
  assert.equal(requestRetry(p, post).policy?.on.size, 0);
});

test('retry exclusions: previous hosts; previous priorities (retryRemoteLocalities) every update_frequency attempts', () => {
  const host = (key: string, priority: number) => ({ key, spec: { priority } }) as unknown as Host;
  const [a0, b0, c1, d2] = [host('a', 0), host('b', 0), host('c', 1), host('d', 2)];
  const hosts = [a0!, b0!, c1!, d2!];
  const keys = (s: ReadonlySet<{ key: string }> | undefined) =>
    s ? [...s].map((h) => h.key).sort() : s;
  const hostsOnly = policy('5xx', { avoidPreviousHosts: true });
  assert.equal(retryExclusions(hostsOnly, new Set()), undefined, 'first try: nothing to avoid');
  assert.deepEqual(keys(retryExclusions(hostsOnly, new Set([a0!]))), ['a']);
  assert.equal(retryExclusions(policy('5xx'), new Set([a0!])), undefined);
  assert.equal(retryPriorities(hosts, hostsOnly, [a0!], new Set()), undefined);
  const remote = policy('5xx', {
    avoidPreviousHosts: true,
    previousPriorities: { updateFrequency: 2 },
  });
  const list = (s: ReadonlySet<number> | undefined) => (s ? [...s].sort() : s);
  const state = new Set<number>();
  // Istio's update_frequency 2: the first retry keeps the original load (stays local)...
  assert.equal(retryPriorities(hosts, remote, [], state), undefined);
  assert.equal(retryPriorities(hosts, remote, [a0!], state), undefined);
  // ...the second avoids the priorities attempted so far, and the third still does.
  assert.deepEqual(list(retryPriorities(hosts, remote, [a0!, b0!], state)), [0]);
  assert.deepEqual(list(retryPriorities(hosts, remote, [a0!, b0!, c1!], state)), [0]);
  assert.deepEqual(list(retryPriorities(hosts, remote, [a0!, b0!, c1!, c1!], state)), [0, 1]);
  // Every priority attempted: cleared, the original load again.
  assert.equal(retryPriorities(hosts, remote, [a0!, b0!, c1!, c1!, d2!, d2!], state), undefined);
  assert.equal(state.size, 0);
});
