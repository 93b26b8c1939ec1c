// envoy.config.cluster.v3.OutlierDetection → frozen settings, with Envoy's defaults
// (outlier_detection.proto; DetectorConfig in Envoy's outlier_detection_impl.cc).
import { ConfigError } from '../../config-error.js';
import { durationMs } from '../duration.js';

type Obj = Record<string, unknown>;

export interface OutlierConfig {
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  /** Ejection time stops growing here (Envoy: 300 s, or base_ejection_time when larger). */
  readonly maxEjectionTimeMs: number;
  readonly maxEjectionTimeJitterMs: number;
  readonly maxEjectionPercent: number;
  readonly alwaysEjectOneHost: boolean;
  readonly consecutive5xx: number;
  readonly enforcingConsecutive5xx: number;
  readonly consecutiveGatewayFailure: number;
  readonly enforcingConsecutiveGatewayFailure: number;
  /** Local-origin failures (connect failures, resets, timeouts) counted apart from 5xx. */
  readonly splitExternalLocalOriginErrors: boolean;
  readonly consecutiveLocalOriginFailure: number;
  readonly enforcingConsecutiveLocalOriginFailure: number;
}

function num(o: Obj, key: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[key];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new ConfigError(key, `invalid value ${String(v)}`);
  return n;
}

function positiveMs(o: Obj, key: string, fallback: number): number {
  if (o[key] === undefined) return fallback;
  const ms = durationMs(o[key], key);
  if (ms <= 0) throw new ConfigError(key, 'must be greater than 0');
  return ms;
}

export function compileOutlierDetection(o: Obj): OutlierConfig {
  // Success-rate and failure-percentage ejection are not implemented: refuse a config that
  // would enable them rather than silently ignore it (Istio always sets enforcing_success_rate
  // to 0; Envoy's default for an absent field is 100).
  if (num(o, 'enforcing_success_rate', 100, 100) !== 0)
    throw new ConfigError(
      'enforcing_success_rate',
      'success-rate ejection is not supported (set enforcing_success_rate to 0)',
    );
  if (num(o, 'enforcing_failure_percentage', 0, 100) !== 0)
    throw new ConfigError(
      'enforcing_failure_percentage',
      'failure-percentage ejection is not supported',
    );
  if (num(o, 'enforcing_failure_percentage_local_origin', 0, 100) !== 0)
    throw new ConfigError(
      'enforcing_failure_percentage_local_origin',
      'failure-percentage ejection is not supported',
    );
  const split = o['split_external_local_origin_errors'] === true;
  if (split && num(o, 'enforcing_local_origin_success_rate', 100, 100) !== 0)
    throw new ConfigError(
      'enforcing_local_origin_success_rate',
      'success-rate ejection is not supported (set enforcing_local_origin_success_rate to 0)',
    );
  const baseEjectionTimeMs = positiveMs(o, 'base_ejection_time', 30_000);
  const maxEjectionTimeMs = positiveMs(
    o,
    'max_ejection_time',
    Math.max(300_000, baseEjectionTimeMs),
  );
  if (maxEjectionTimeMs < baseEjectionTimeMs)
    throw new ConfigError('max_ejection_time', 'cannot be smaller than base_ejection_time');
  return {
    intervalMs: positiveMs(o, 'interval', 10_000),
    baseEjectionTimeMs,
    maxEjectionTimeMs,
    maxEjectionTimeJitterMs:
      o['max_ejection_time_jitter'] === undefined
        ? 0
        : durationMs(o['max_ejection_time_jitter'], 'max_ejection_time_jitter'),
    maxEjectionPercent: num(o, 'max_ejection_percent', 10, 100),
    alwaysEjectOneHost: o['always_eject_one_host'] === true,
    consecutive5xx: num(o, 'consecutive_5xx', 5),
    enforcingConsecutive5xx: num(o, 'enforcing_consecutive_5xx', 100, 100),
    consecutiveGatewayFailure: num(o, 'consecutive_gateway_failure', 5),
    enforcingConsecutiveGatewayFailure: num(o, 'enforcing_consecutive_gateway_failure', 0, 100),
    splitExternalLocalOriginErrors: split,
    consecutiveLocalOriginFailure: num(o, 'consecutive_local_origin_failure', 5),
    enforcingConsecutiveLocalOriginFailure: num(
      o,
      'enforcing_consecutive_local_origin_failure',
      100,
      100,
    ),
  };
}
