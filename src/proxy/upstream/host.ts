// One upstream endpoint: its counters (Envoy's per-host stats on /clusters), its health flags
// and the outlier detector's per-host state (Envoy's DetectorHostMonitorImpl).
import type { HostSpec } from './assignment.js';
import type { UpstreamTlsConfig } from '../tls/upstream.js';

export class Host {
  readonly key: string;
  /** Requests attached to a connection of this host (least-request balancing reads it). */
  activeRequests = 0;
  requestsTotal = 0;
  /** Responses under 500 (Envoy's rq_success) and failures (rq_error: 5xx, resets, timeouts). */
  successTotal = 0;
  errorsTotal = 0;
  timeoutsTotal = 0;
  cxActive = 0;
  cxTotal = 0;
  cxConnectFail = 0;

  /** Envoy's FAILED_OUTLIER_CHECK health flag: ejected, no traffic unless the level panics. */
  ejected = false;
  consecutive5xx = 0;
  consecutiveGatewayFailure = 0;
  consecutiveLocalOriginFailure = 0;
  /** How many times the outlier detector ejected this host. */
  numEjections = 0;
  /** The ejection time multiplier: grows with each ejection, decays while the host stays in. */
  ejectTimeBackoff = 0;
  lastEjectionTime: number | undefined;
  lastUnejectionTime: number | undefined;
  /** How long the current (or last) ejection lasts, jitter included. */
  ejectionDurationMs = 0;

  /**
   * The transport socket connections to this host use (the cluster's transport_socket, or the
   * transport_socket_matches entry its metadata picks); undefined: plaintext. Set by the cluster.
   */
  tls: UpstreamTlsConfig | undefined;

  /** When the host joined the cluster (performance.now()); slow start counts from here. */
  addedAt: number;
  /** False for the hosts a cluster started with: only hosts added later warm up (as Envoy). */
  slowStartEligible: boolean;

  constructor(
    readonly spec: HostSpec,
    opts: { addedAt?: number; slowStart?: boolean } = {},
  ) {
    this.key = hostKey(spec.address, spec.port);
    this.addedAt = opts.addedAt ?? performance.now();
    this.slowStartEligible = opts.slowStart ?? false;
  }

  get address(): string {
    return this.spec.address;
  }

  get port(): number {
    return this.spec.port;
  }

  get healthy(): boolean {
    return !this.ejected;
  }

  /** Envoy's health_flags on /clusters. */
  healthFlags(): string {
    return this.ejected ? '/failed_outlier_check' : 'healthy';
  }
}

export function hostKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
