// Istio's resource names, so that a config dump reads the same as Istio's.

export type Direction = 'outbound' | 'inbound';

/** `outbound|9080|v1|reviews.default.svc.cluster.local`; `inbound|9080||`. */
export function clusterName(
  direction: Direction,
  port: number,
  subset: string,
  host: string,
): string {
  return `${direction}|${port}|${subset}|${host}`;
}

export function parseClusterName(
  name: string,
): { direction: string; port: number; subset: string; host: string } | undefined {
  const parts = name.split('|');
  if (parts.length !== 4) return undefined;
  const [direction = '', port = '', subset = '', host = ''] = parts;
  return { direction, port: Number(port), subset, host };
}

export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
export const VIRTUAL_OUTBOUND = 'virtualOutbound';
/** Istio's route config for an HTTP proxy listener: every service on every port. */
export const HTTP_PROXY_ROUTE = 'http_proxy';

/** A listener on a concrete address: `127.0.0.1_8080`. */
export function listenerName(address: string, port: number): string {
  return `${address}_${port}`;
}

/** Gateway HTTP route configs: `http.8080` (Istio: `http.<server port>`). */
export function gatewayRouteName(port: number): string {
  return `http.${port}`;
}

/** `host:port`, Istio's virtual host name. */
export function virtualHostName(host: string, port: number): string {
  return `${host}:${port}`;
}
