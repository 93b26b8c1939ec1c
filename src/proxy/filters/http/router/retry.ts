// Envoy's retry decisions (router filter docs, x-envoy-retry-on and x-envoy-retry-grpc-on;
// RetryStateImpl): which failures and which responses a retry policy retries, the policy a
// request's x-envoy-* headers make of the route's, and the jittered exponential back-off.
import type { ProxyError } from '../../../errors.js';
import type { Host } from '../../../upstream/host.js';
import type { RequestView } from '../../../routes/matchers.js';
import type { RetryPolicy } from '../../../routes/retry-policy.js';
import { parseRetryOn } from '../../../routes/retry-policy.js';
import { requestHeader } from '../header-map.js';

/** Envoy's RetryPolicyImpl when a route has none but a request asks for retries by header. */
const NO_POLICY: RetryPolicy = Object.freeze({
  on: new Set<string>(),
  numRetries: 1,
  perTryTimeoutMs: 0,
  retriableStatusCodes: new Set<number>(),
  retriableHeaders: [],
  retriableRequestHeaders: [],
  avoidPreviousHosts: false,
  hostSelectionMaxAttempts: 1,
  previousPriorities: undefined,
  backoffBaseMs: 25,
  backoffMaxMs: 250,
});

/** gRPC status codes the gRPC retry-on conditions name. */
const GRPC_RETRY_ON: Readonly<Record<string, string>> = {
  '1': 'cancelled',
  '4': 'deadline-exceeded',
  '8': 'resource-exhausted',
  '13': 'internal',
  '14': 'unavailable',
};

/** A response header lookup (lower-case names). */
export type HeaderLookup = (name: string) => string | undefined;

export interface RequestRetry {
  /** undefined: the request is not retried. */
  readonly policy: RetryPolicy | undefined;
  /** x-envoy-upstream-rq-timeout-ms, when the request sets it. */
  readonly timeoutMs: number | undefined;
}

const intHeader = (v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
};

/**
 * The policy for one request: the route's, widened by x-envoy-retry-on / -grpc-on and the other
 * retry headers, as Envoy's router reads them (they are consumed, never forwarded).
 */
export function requestRetry(
  route: RetryPolicy | undefined,
  view: RequestView,
  /** false: the request has no x-envoy-* header, so no override to look for. */
  envoyHeaders = true,
): RequestRetry {
  if (!envoyHeaders) return { policy: applicable(route, view), timeoutMs: undefined };
  const h = view.headers;
  const retryOn = requestHeader(h, 'x-envoy-retry-on');
  const grpcOn = requestHeader(h, 'x-envoy-retry-grpc-on');
  const maxRetries = intHeader(requestHeader(h, 'x-envoy-max-retries'));
  const codes = requestHeader(h, 'x-envoy-retriable-status-codes');
  const names = requestHeader(h, 'x-envoy-retriable-header-names');
  const perTry = intHeader(requestHeader(h, 'x-envoy-upstream-rq-per-try-timeout-ms'));
  const timeoutMs = intHeader(requestHeader(h, 'x-envoy-upstream-rq-timeout-ms'));
  if (
    retryOn === undefined &&
    grpcOn === undefined &&
    maxRetries === undefined &&
    codes === undefined &&
    names === undefined &&
    perTry === undefined
  ) {
    return { policy: applicable(route, view), timeoutMs };
  }
  const base = route ?? NO_POLICY;
  const on = new Set(base.on);
  for (const c of parseRetryOn(`${retryOn ?? ''},${grpcOn ?? ''}`)) on.add(c);
  const statusCodes = new Set(base.retriableStatusCodes);
  for (const c of (codes ?? '').split(',')) if (/^\d+$/.test(c.trim())) statusCodes.add(Number(c));
  const headers = [...base.retriableHeaders];
  for (const n of (names ?? '').split(',')) {
    const name = n.trim().toLowerCase();
    if (name) headers.push((v) => v.headers[name] !== undefined);
  }
  const policy: RetryPolicy = {
    ...base,
    on,
    retriableStatusCodes: statusCodes,
    retriableHeaders: headers,
    numRetries: maxRetries ?? base.numRetries,
    perTryTimeoutMs: perTry ?? base.perTryTimeoutMs,
  };
  return { policy: applicable(policy, view), timeoutMs };
}

/** retriable_request_headers: a policy that lists them retries only requests matching one. */
function applicable(policy: RetryPolicy | undefined, view: RequestView): RetryPolicy | undefined {
  if (!policy) return undefined;
  // Envoy clears retry_on then; the per-try timeout still holds.
  if (policy.retriableRequestHeaders.length && !policy.retriableRequestHeaders.some((m) => m(view)))
    return { ...policy, on: new Set() };
  return policy;
}

/** A failure before the response started: is it retriable under the policy? */
export function retriableError(policy: RetryPolicy, err: ProxyError): boolean {
  const on = policy.on;
  // Overflow (circuit breaking) and no healthy host are never retried.
  if (err.flag === 'UO' || err.flag === 'UH' || err.flag === 'NC') return false;
  if (err.flag === 'UT') {
    // Only a per-try timeout is retried, and only under 5xx or gateway-error; the route's own
    // timeout ends the request.
    return err.code === 'ERR_PER_TRY_TIMEOUT' && (on.has('5xx') || on.has('gateway-error'));
  }
  const connectFailure = err.flag === 'UF';
  if (connectFailure && on.has('connect-failure')) return true;
  // Nothing of a request that never connected reached the upstream.
  if (connectFailure && on.has('reset-before-request')) return true;
  // Envoy counts an upstream reset as a 5xx, which gateway-error covers as well.
  if (on.has('reset') || on.has('5xx') || on.has('gateway-error')) return true;
  return on.has('refused-stream') && err.details.includes('remote_refused_stream_reset');
}

/** An upstream response head: is it retriable under the policy? */
export function retriableResponse(
  policy: RetryPolicy,
  status: number,
  header: HeaderLookup,
): boolean {
  const on = policy.on;
  // A rate-limited answer from an upstream Envoy is retried only under envoy-ratelimited.
  if (header('x-envoy-ratelimited') !== undefined) return on.has('envoy-ratelimited');
  if (retriableStatus(policy, status)) return true;
  if (on.has('retriable-headers') && policy.retriableHeaders.length) {
    const view = responseView(header);
    if (policy.retriableHeaders.some((m) => m(view))) return true;
  }
  // Trailers-only gRPC responses carry grpc-status in the head.
  const grpc = header('grpc-status');
  if (grpc !== undefined) {
    const condition = GRPC_RETRY_ON[grpc.trim()];
    if (condition && on.has(condition)) return true;
  }
  return false;
}

/** A status: is it retriable under the policy? */
export function retriableStatus(policy: RetryPolicy, status: number): boolean {
  const on = policy.on;
  if (status >= 500 && on.has('5xx')) return true;
  if ((status === 502 || status === 503 || status === 504) && on.has('gateway-error')) return true;
  if (status === 409 && on.has('retriable-4xx')) return true;
  return on.has('retriable-status-codes') && policy.retriableStatusCodes.has(status);
}

/** Response headers seen as header matchers see a request. */
function responseView(header: HeaderLookup): RequestView {
  const headers = new Proxy({} as Record<string, string | undefined>, {
    get: (_, name) => (typeof name === 'string' ? header(name) : undefined),
  });
  return { method: '', scheme: '', authority: '', path: '', query: '', headers };
}

/** Full-jitter exponential back-off: random in [0, base·(2^n − 1)], capped at max. */
export function backoffMs(policy: RetryPolicy, retryNumber: number): number {
  const ceiling = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * (2 ** retryNumber - 1));
  return Math.random() * Math.max(ceiling, policy.backoffBaseMs);
}

/**
 * The hosts a retry avoids: those tried, with the previous_hosts predicate (Envoy retries the
 * host selection, then gives up and takes a tried host when no other is left).
 */
export function retryExclusions(
  policy: RetryPolicy | undefined,
  tried: ReadonlySet<Host>,
): ReadonlySet<Host> | undefined {
  if (!policy?.avoidPreviousHosts || tried.size === 0) return undefined;
  return tried;
}

/**
 * Envoy's PreviousPrioritiesRetryPriority (Istio's retryRemoteLocalities, update_frequency 2):
 * the priorities the next attempt avoids. Every `updateFrequency` attempts, the priorities of
 * the hosts attempted so far are excluded (and stay so); until the first update the original
 * priority load holds — with Istio's 2, the first retry stays in the local priority and the
 * second goes to the next one. When the exclusions would leave no priority, they are cleared
 * and the original load holds again. `excluded` carries the state across attempts.
 */
export function retryPriorities(
  hosts: readonly Host[],
  policy: RetryPolicy | undefined,
  attempted: readonly Host[],
  excluded: Set<number>,
): ReadonlySet<number> | undefined {
  const frequency = policy?.previousPriorities?.updateFrequency;
  if (!frequency) return undefined;
  const n = attempted.length;
  if (n < frequency) return undefined;
  if (n % frequency === 0) {
    for (const h of attempted) excluded.add(h.spec.priority);
    if (hosts.every((h) => excluded.has(h.spec.priority))) excluded.clear();
  }
  return excluded.size ? excluded : undefined;
}
