// Envoy's retry decision (x-envoy-retry-on semantics, router filter docs): which failures and
// which statuses a route's retry policy retries, and the jittered exponential back-off.
import type { ProxyError } from '../../../errors.js';
import type { RetryPolicy } from '../../../routes/route-action.js';

/** A failure before the response started: is it retriable under the policy? */
export function retriableError(policy: RetryPolicy, err: ProxyError): boolean {
  const on = policy.on;
  switch (err.flag) {
    case 'UF':
      return (
        on.has('connect-failure') || on.has('5xx') || on.has('gateway-error') || on.has('reset')
      );
    case 'UC':
      // Envoy counts an upstream reset as a 5xx, which gateway-error covers as well.
      return on.has('reset') || on.has('5xx') || on.has('gateway-error');
    case 'UT':
      // Only a per-try timeout is retried; the route's own timeout ends the request.
      return err.code === 'ERR_PER_TRY_TIMEOUT' && (on.has('5xx') || on.has('gateway-error'));
    default:
      return false;
  }
}

/** An upstream status: is it retriable under the policy? */
export function retriableStatus(policy: RetryPolicy, status: number): boolean {
  const on = policy.on;
  if (status >= 500 && on.has('5xx')) return true;
  if ((status === 502 || status === 503 || status === 504) && on.has('gateway-error')) return true;
  if (status === 409 && on.has('retriable-4xx')) return true;
  return on.has('retriable-status-codes') && policy.retriableStatusCodes.has(status);
}

/** Full-jitter exponential back-off: random in [0, base·(2^n − 1)], capped at max. */
export function backoffMs(policy: RetryPolicy, retryNumber: number): number {
  const ceiling = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * (2 ** retryNumber - 1));
  return Math.random() * Math.max(ceiling, policy.backoffBaseMs);
}
