// What the measurement needs from each target once it runs: where to send load, which
// processes are its proxies (to read their CPU and memory), how to stop it.
import type { LoadTarget } from '../loadgen.js';

export type TargetName = 'direct' | 'skiff' | 'skiff-rules' | 'nginx' | 'haproxy';

/** skiff-rules: the skiff pair with a realistic rule set loaded (see rules.ts). */
export const TARGET_NAMES: readonly TargetName[] = [
  'direct',
  'skiff',
  'skiff-rules',
  'nginx',
  'haproxy',
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
  stop(): Promise<void>;
}

/** The host and port requests name when they go through a proxy (skiff's Service `echo`). */
export const SERVICE_HOST = 'echo';
export const SERVICE_PORT = 9080;
export const PROXIED_URL = `http://${SERVICE_HOST}:${SERVICE_PORT}/`;
