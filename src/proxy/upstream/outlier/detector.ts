// Passive health checking as Envoy's outlier detector does it (outlier_detection_impl.cc):
// consecutive 5xx / gateway / local-origin failures eject a host at once (open); a timer every
// `interval` brings back hosts whose ejection time (base × times ejected in a row, capped) has
// passed. A returned host is back in the pool with its counters at zero: a new streak of
// failures ejects it again immediately, for longer (Envoy's multiplier); the multiplier decays
// by one each interval the host stays in.
import type { Host } from '../host.js';
import type { ClusterStats } from '../stats.js';
import type { OutlierConfig } from './config.js';

/** What the router and the pools report per attempt (Envoy's Outlier::Result, simplified). */
export type OutlierResult =
  /** A connection was ready for the request (Envoy reports this for every stream). */
  | 'connect-success'
  /** Connect failure or reset before a response (LocalOriginConnectFailed). */
  | 'connect-failed'
  /** No response in time (LocalOriginTimeout, a 504 when errors are not split). */
  | 'timeout';

type EjectionType =
  'consecutive_5xx' | 'consecutive_gateway_failure' | 'consecutive_local_origin_failure';

export interface DetectorDeps {
  readonly stats: ClusterStats;
  /** Every host of the cluster, all priorities (Envoy's host_monitors_). */
  hosts(): readonly Host[];
  /** A host was ejected or returned: the load balancer must rebuild. */
  onHealthChange(host: Host): void;
  now?: () => number;
  random?: () => number;
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
}

function defaultTimer(fn: () => void, ms: number): { cancel(): void } {
  const t = setTimeout(fn, ms);
  t.unref();
  return { cancel: () => clearTimeout(t) };
}

export class OutlierDetector {
  private active = 0;
  private timer: { cancel(): void } | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => { cancel(): void };

  constructor(
    readonly config: OutlierConfig,
    private readonly deps: DetectorDeps,
  ) {
    this.now = deps.now ?? (() => performance.now());
    this.random = deps.random ?? Math.random;
    this.setTimer = deps.setTimer ?? defaultTimer;
  }

  /** Hosts ejected right now (the ejections_active gauge). */
  get ejectionsActive(): number {
    return this.active;
  }

  start(): void {
    this.timer ??= this.setTimer(() => this.onInterval(), this.config.intervalMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** A host left the cluster: an ejected one no longer counts as ejected. */
  hostRemoved(host: Host): void {
    if (host.ejected) {
      this.active--;
      host.ejected = false;
    }
  }

  /** An HTTP status from the upstream (Envoy's putHttpResponseCode). */
  putHttpStatus(host: Host, status: number): void {
    const c = this.config;
    if (status >= 500 && status < 600) {
      if (status === 502 || status === 503 || status === 504) {
        if (++host.consecutiveGatewayFailure === c.consecutiveGatewayFailure)
          this.onConsecutiveError(host, 'consecutive_gateway_failure');
      } else {
        host.consecutiveGatewayFailure = 0;
      }
      if (++host.consecutive5xx === c.consecutive5xx)
        this.onConsecutiveError(host, 'consecutive_5xx');
    } else {
      host.consecutive5xx = 0;
      host.consecutiveGatewayFailure = 0;
    }
  }

  /**
   * A locally originated result. Without split_external_local_origin_errors they count as the
   * 5xx the router would answer (503 for connect failures and resets, 504 for timeouts);
   * with it, they have their own consecutive counter and 5xx counts only real responses.
   */
  putResult(host: Host, result: OutlierResult): void {
    if (!this.config.splitExternalLocalOriginErrors) {
      if (result === 'connect-failed') this.putHttpStatus(host, 503);
      else if (result === 'timeout') this.putHttpStatus(host, 504);
      return;
    }
    if (result === 'connect-success') {
      host.consecutiveLocalOriginFailure = 0;
      return;
    }
    if (++host.consecutiveLocalOriginFailure === this.config.consecutiveLocalOriginFailure)
      this.onConsecutiveError(host, 'consecutive_local_origin_failure');
  }

  private onConsecutiveError(host: Host, type: EjectionType): void {
    if (host.ejected) return;
    const stats = this.deps.stats;
    stats.outlier[`ejections_detected_${type}`]++;
    this.eject(host, type);
    // Envoy resets the counter whether or not the ejection happened, so that a new streak is
    // needed for the next attempt.
    if (type === 'consecutive_5xx') {
      stats.outlier.ejections_consecutive_5xx++;
      host.consecutive5xx = 0;
    } else if (type === 'consecutive_gateway_failure') host.consecutiveGatewayFailure = 0;
    else host.consecutiveLocalOriginFailure = 0;
  }

  private enforcing(type: EjectionType): number {
    const c = this.config;
    switch (type) {
      case 'consecutive_5xx':
        return c.enforcingConsecutive5xx;
      case 'consecutive_gateway_failure':
        return c.enforcingConsecutiveGatewayFailure;
      default:
        return c.enforcingConsecutiveLocalOriginFailure;
    }
  }

  private eject(host: Host, type: EjectionType): void {
    const c = this.config;
    const stats = this.deps.stats;
    const total = this.deps.hosts().length;
    // max_ejection_percent bounds how much of the cluster may be out at once.
    const ejectedPercent = total === 0 ? 100 : (100 * (this.active + 1)) / total;
    const allowed =
      ejectedPercent <= Math.min(100, c.maxEjectionPercent) ||
      (c.alwaysEjectOneHost && this.active === 0);
    if (!allowed) {
      stats.outlier.ejections_overflow++;
      return;
    }
    if (type === 'consecutive_5xx') stats.outlier.ejections_total++;
    const percent = this.enforcing(type);
    if (percent < 100 && this.random() * 100 >= percent) return;
    this.active++;
    stats.outlier.ejections_enforced_total++;
    stats.outlier[`ejections_enforced_${type}`]++;
    const now = this.now();
    host.ejected = true;
    host.numEjections++;
    host.lastEjectionTime = now;
    if (host.ejectTimeBackoff * c.baseEjectionTimeMs < c.maxEjectionTimeMs + c.baseEjectionTimeMs)
      host.ejectTimeBackoff++;
    const jitter = Math.floor(this.random() * (c.maxEjectionTimeJitterMs + 1));
    host.ejectionDurationMs =
      Math.min(c.baseEjectionTimeMs * host.ejectTimeBackoff, c.maxEjectionTimeMs) + jitter;
    this.deps.onHealthChange(host);
  }

  private uneject(host: Host, now: number): void {
    this.active--;
    host.ejected = false;
    // Counters start over, so that a host does not go back out on a few errors that happened
    // to follow an old streak.
    host.consecutive5xx = 0;
    host.consecutiveGatewayFailure = 0;
    host.consecutiveLocalOriginFailure = 0;
    host.lastUnejectionTime = now;
    this.deps.onHealthChange(host);
  }

  /** The interval sweep: return hosts whose ejection time is over; decay the multipliers. */
  onInterval(): void {
    this.timer = undefined;
    const now = this.now();
    const hosts = this.deps.hosts();
    for (const host of hosts) {
      if (host.ejected && host.lastEjectionTime !== undefined) {
        if (now - host.lastEjectionTime >= host.ejectionDurationMs) this.uneject(host, now);
      }
    }
    for (const host of hosts) {
      if (host.ejected || host.lastUnejectionTime === undefined) continue;
      if (now - host.lastUnejectionTime >= this.config.intervalMs && host.ejectTimeBackoff > 0)
        host.ejectTimeBackoff--;
    }
    this.start();
  }
}
