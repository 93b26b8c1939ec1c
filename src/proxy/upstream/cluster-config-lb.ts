// A cluster's load balancing settings: lb_policy with its typed config (least request choice
// count and bias, slow start, ring hash and Maglev sizes) and common_lb_config (panic threshold,
// locality weighting), with Envoy's defaults.
import { ConfigError, inField } from '../config-error.js';
import { durationMs } from './duration.js';

type Obj = Record<string, unknown>;

export type LbPolicy =
  'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV' | 'CLUSTER_PROVIDED';

/** Envoy's slow start (round_robin_lb_config / least_request_lb_config.slow_start_config). */
export interface SlowStartConfig {
  readonly windowMs: number;
  /** Traffic grows as (time in window / window)^(1/aggression); 1 is linear. */
  readonly aggression: number;
  /** The least share of its weight a warming host gets (Envoy: 10%). */
  readonly minWeightPercent: number;
}

export interface LbConfig {
  readonly policy: LbPolicy;
  /** Least request: hosts sampled per pick (Envoy: 2, the power of two choices). */
  readonly choiceCount: number;
  /** Least request with unequal weights: weight / (active + 1)^bias (Envoy: 1.0). */
  readonly activeRequestBias: number;
  readonly slowStart: SlowStartConfig | undefined;
  readonly minRingSize: number;
  readonly maxRingSize: number;
  /** Maglev lookup table size, a prime (Envoy: 65537). */
  readonly maglevTableSize: number;
  /** Below this % of healthy hosts a priority level panics and uses all its hosts (Envoy: 50). */
  readonly healthyPanicThreshold: number;
  /** common_lb_config.locality_weighted_lb_config: pick a locality by weight first. */
  readonly localityWeighted: boolean;
}

const POLICIES = new Set<LbPolicy>([
  'ROUND_ROBIN',
  'LEAST_REQUEST',
  'RANDOM',
  'RING_HASH',
  'MAGLEV',
  'CLUSTER_PROVIDED',
]);

function isPrime(n: number): boolean {
  if (n < 2 || !Number.isInteger(n)) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

function slowStart(s: Obj | undefined): SlowStartConfig | undefined {
  if (!s) return undefined;
  const windowMs = durationMs(s['slow_start_window'], 'slow_start_window');
  if (windowMs <= 0) return undefined;
  const aggression = Number((s['aggression'] as Obj | undefined)?.['default_value'] ?? 1);
  if (!(aggression > 0)) throw new ConfigError('aggression', 'must be greater than 0');
  const min = (s['min_weight_percent'] as Obj | undefined)?.['value'];
  const minWeightPercent = min === undefined ? 10 : Number(min);
  if (!(minWeightPercent >= 0 && minWeightPercent <= 100))
    throw new ConfigError('min_weight_percent', `invalid percentage ${String(min)}`);
  return { windowMs, aggression, minWeightPercent };
}

export function compileLbConfig(c: Obj): LbConfig {
  const policy = String(c['lb_policy'] ?? 'ROUND_ROBIN') as LbPolicy;
  if (!POLICIES.has(policy)) throw new ConfigError('lb_policy', `${policy} is not supported`);
  if (c['load_balancing_policy'] !== undefined)
    throw new ConfigError('load_balancing_policy', 'is not supported (use lb_policy)');
  const lr = c['least_request_lb_config'] as Obj | undefined;
  const rr = c['round_robin_lb_config'] as Obj | undefined;
  const ring = c['ring_hash_lb_config'] as Obj | undefined;
  const maglev = c['maglev_lb_config'] as Obj | undefined;
  const common = (c['common_lb_config'] as Obj | undefined) ?? {};
  const choiceCount = Number(lr?.['choice_count'] ?? 2);
  if (!Number.isInteger(choiceCount) || choiceCount < 2)
    throw new ConfigError('least_request_lb_config.choice_count', 'must be at least 2');
  const bias = Number((lr?.['active_request_bias'] as Obj | undefined)?.['default_value'] ?? 1);
  if (!(bias >= 0))
    throw new ConfigError('least_request_lb_config.active_request_bias', 'must be ≥ 0');
  const hashFunction = String(ring?.['hash_function'] ?? 'XX_HASH');
  if (hashFunction !== 'XX_HASH')
    throw new ConfigError('ring_hash_lb_config.hash_function', `${hashFunction} is not supported`);
  const minRingSize = Number(ring?.['minimum_ring_size'] ?? 1024);
  const maxRingSize = Number(ring?.['maximum_ring_size'] ?? 8 * 1024 * 1024);
  if (!(minRingSize >= 1 && maxRingSize >= minRingSize && maxRingSize <= 8 * 1024 * 1024))
    throw new ConfigError(
      'ring_hash_lb_config',
      'needs 1 ≤ minimum_ring_size ≤ maximum_ring_size ≤ 8M',
    );
  const maglevTableSize = Number(maglev?.['table_size'] ?? 65537);
  if (!isPrime(maglevTableSize) || maglevTableSize > 5000011)
    throw new ConfigError(
      'maglev_lb_config.table_size',
      `${maglevTableSize} is not a prime ≤ 5000011`,
    );
  const panic = (common['healthy_panic_threshold'] as Obj | undefined)?.['value'];
  const healthyPanicThreshold = panic === undefined ? 50 : Number(panic);
  if (!(healthyPanicThreshold >= 0 && healthyPanicThreshold <= 100))
    throw new ConfigError(
      'common_lb_config.healthy_panic_threshold',
      `invalid percentage ${String(panic)}`,
    );
  if (common['zone_aware_lb_config'] !== undefined)
    throw new ConfigError('common_lb_config.zone_aware_lb_config', 'is not supported');
  const slow =
    policy === 'ROUND_ROBIN'
      ? inField('round_robin_lb_config', () =>
          slowStart(rr?.['slow_start_config'] as Obj | undefined),
        )
      : policy === 'LEAST_REQUEST'
        ? inField('least_request_lb_config', () =>
            slowStart(lr?.['slow_start_config'] as Obj | undefined),
          )
        : undefined;
  return {
    policy,
    choiceCount,
    activeRequestBias: bias,
    slowStart: slow,
    minRingSize,
    maxRingSize,
    maglevTableSize,
    healthyPanicThreshold,
    localityWeighted: common['locality_weighted_lb_config'] !== undefined,
  };
}
