// envoy.config.route.v3.RetryPolicy → frozen retry policy (the router's retry decisions are in
// filters/http/router/retry.ts).
import { ConfigError, inField } from '../config-error.js';
import type { Predicate, RequestView } from './matchers.js';
import { compileHeaderMatcher } from './matchers.js';
import { durationMs } from './duration.js';

type Obj = Record<string, unknown>;

export interface RetryPolicy {
  /** Envoy's retry_on conditions: 5xx, gateway-error, reset, connect-failure, ... */
  readonly on: ReadonlySet<string>;
  readonly numRetries: number;
  /** 0 = the route's timeout governs each try. */
  readonly perTryTimeoutMs: number;
  readonly retriableStatusCodes: ReadonlySet<number>;
  /** retriable_headers: response headers that make a response retriable (retriable-headers). */
  readonly retriableHeaders: readonly Predicate<RequestView>[];
  /** retriable_request_headers: only requests matching one of these are retried. */
  readonly retriableRequestHeaders: readonly Predicate<RequestView>[];
  /** envoy.retry_host_predicates.previous_hosts: try a different host on each retry. */
  readonly avoidPreviousHosts: boolean;
  readonly hostSelectionMaxAttempts: number;
  /**
   * envoy.retry_priorities.previous_priorities: retries avoid the priorities (localities, as
   * Istio's retryRemoteLocalities means) already tried; undefined when not configured.
   */
  readonly previousPriorities: { readonly updateFrequency: number } | undefined;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

/** Every retry_on value Envoy accepts (x-envoy-retry-on and x-envoy-retry-grpc-on). */
export const RETRY_ON: ReadonlySet<string> = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
]);

export function parseRetryOn(text: string): Set<string> {
  return new Set(
    text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => RETRY_ON.has(s)),
  );
}

const PREVIOUS_HOSTS = 'envoy.retry_host_predicates.previous_hosts';
const PREVIOUS_PRIORITIES = 'envoy.retry_priorities.previous_priorities';

export function compileRetryPolicy(p: Obj): RetryPolicy {
  const backoff = (p['retry_back_off'] as Obj | undefined) ?? {};
  const base = durationMs(backoff['base_interval'], 'retry_back_off.base_interval') || 25;
  const predicates = (p['retry_host_predicate'] as Obj[] | undefined) ?? [];
  const unknownPredicate = predicates.findIndex((h) => h['name'] !== PREVIOUS_HOSTS);
  if (unknownPredicate >= 0)
    throw new ConfigError(
      `retry_host_predicate[${unknownPredicate}].name`,
      `${String(predicates[unknownPredicate]?.['name'])} is not supported`,
    );
  const priority = p['retry_priority'] as Obj | undefined;
  if (priority && priority['name'] !== PREVIOUS_PRIORITIES)
    throw new ConfigError('retry_priority.name', `${String(priority['name'])} is not supported`);
  const priorityConfig = (priority?.['typed_config'] as Obj | undefined) ?? {};
  const matchers = (field: string) =>
    ((p[field] as Obj[] | undefined) ?? []).map((h, i) =>
      inField(`${field}[${i}]`, () => compileHeaderMatcher(h, '')),
    );
  return Object.freeze({
    on: parseRetryOn(String(p['retry_on'] ?? '')),
    // UInt32Value, Envoy's default 1.
    numRetries: Number(p['num_retries'] ?? 1),
    perTryTimeoutMs: durationMs(p['per_try_timeout'], 'per_try_timeout'),
    retriableStatusCodes: new Set(
      ((p['retriable_status_codes'] as number[] | undefined) ?? []).map(Number),
    ),
    retriableHeaders: matchers('retriable_headers'),
    retriableRequestHeaders: matchers('retriable_request_headers'),
    avoidPreviousHosts: predicates.length > 0,
    hostSelectionMaxAttempts: Number(p['host_selection_retry_max_attempts'] ?? 1),
    previousPriorities: priority
      ? { updateFrequency: Number(priorityConfig['update_frequency'] ?? 2) }
      : undefined,
    backoffBaseMs: base,
    backoffMaxMs: durationMs(backoff['max_interval'], 'retry_back_off.max_interval') || base * 10,
  });
}
