// What the measurement needs from each target once it runs: where to send load, which
// processes are its proxies (to read their CPU and memory), how to stop it.
import type { LoadTarget } from '../loadgen.js';

export type TargetName =
  | 'direct'
  | 'skiff'
  | 'skiff-plaintext'
  | 'skiff-bare'
  | 'skiff-telemetry'
  | 'skiff-rules'
  | 'skiff-secure'
  | 'nginx'
  | 'haproxy';

/**
 * skiff: the sidecar pair with Istio's defaults: its telemetry (the istio.stats metrics, no access
 * logs, no tracing) and auto mTLS between the sidecars; skiff-plaintext: the same with mTLS off
 * (a mesh-wide PeerAuthentication DISABLE), as at the spine; skiff-bare: every metric disabled by a root-namespace Telemetry (no
 * telemetry filter left); skiff-telemetry: metrics, access logs to the sidecars' stdout (their
 * log files) and tracing at 1% to a Zipkin receiver; skiff-rules: skiff with a realistic rule
 * set loaded over plaintext, as the spine's figures were (see rules.ts); skiff-secure: skiff with mTLS on every hop and an ALLOW
 * AuthorizationPolicy (see secure.ts). See skiff.ts.
 */
export const TARGET_NAMES: readonly TargetName[] = [
  'direct',
  'skiff',
  'skiff-plaintext',
  'skiff-bare',
  'skiff-telemetry',
  'skiff-rules',
  'skiff-secure',
  'nginx',
  'haproxy',
];

/** The skiff pair's variants, by target name. */
export const SKIFF_TARGETS: readonly TargetName[] = [
  'skiff',
  'skiff-plaintext',
  'skiff-bare',
  'skiff-telemetry',
  'skiff-rules',
  'skiff-secure',
];

/** One proxy hop: a skiff sidecar, or one nginx (master + worker), or one haproxy. */
export interface ProxyHop {
  readonly label: 'outbound' | 'inbound';
  /** The processes whose CPU and RSS count for this hop. */
  readonly pids: readonly number[];
}

export interface RunningTarget {
  readonly name: TargetName;
  readonly load: LoadTarget;
  /** Empty for direct; outbound then inbound otherwise. */
  readonly hops: readonly ProxyHop[];
  /** skiff: the outbound sidecar's admin server, `http://127.0.0.1:<port>`. */
  readonly outboundAdmin?: string;
  /**
   * Checks, after the warm-up's traffic, that the target is configured as its name says (skiff's
   * variants: telemetry filters, access log lines, spans); throws with a clear message if not.
   * Returns notes for the report (e.g. access log lines written, spans received).
   */
  verify?(): Promise<readonly string[]>;
  stop(): Promise<void>;
}

/** The host and port requests name when they go through a proxy (skiff's Service `echo`). */
export const SERVICE_HOST = 'echo';
export const SERVICE_PORT = 9080;
export const PROXIED_URL = `http://${SERVICE_HOST}:${SERVICE_PORT}/`;
