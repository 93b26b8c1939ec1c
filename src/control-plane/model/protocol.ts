// A port's protocol, chosen as Istio does: `appProtocol` first, else the port name's prefix
// (`http-foo`, `grpc`, `tcp-db`), else unknown (sniffed by Istio; treated as HTTP in local mode,
// where all outbound traffic arrives through the sidecar's HTTP proxy listener).

export type Protocol =
  | 'HTTP'
  | 'HTTP2'
  | 'GRPC'
  | 'GRPC-Web'
  | 'HTTPS'
  | 'TLS'
  | 'TCP'
  | 'Mongo'
  | 'MySQL'
  | 'Redis'
  | 'UDP'
  | 'Unsupported';

const BY_NAME: Readonly<Record<string, Protocol>> = {
  http: 'HTTP',
  http2: 'HTTP2',
  h2c: 'HTTP2',
  grpc: 'GRPC',
  'grpc-web': 'GRPC-Web',
  https: 'HTTPS',
  tls: 'TLS',
  tcp: 'TCP',
  mongo: 'Mongo',
  mysql: 'MySQL',
  redis: 'Redis',
  udp: 'UDP',
};

export function parseProtocol(name: string | undefined): Protocol | undefined {
  if (!name) return undefined;
  return BY_NAME[name.toLowerCase()];
}

/** Kubernetes Service port → protocol (Istio's protocol selection). */
export function protocolOfServicePort(port: {
  name?: string;
  appProtocol?: string;
  protocol?: string;
}): Protocol {
  if (port.protocol === 'UDP') return 'UDP';
  const fromApp = parseProtocol(port.appProtocol?.replace(/^kubernetes\.io\//, ''));
  if (fromApp) return fromApp;
  const name = port.name ?? '';
  const prefix = name.split('-')[0] ?? '';
  return parseProtocol(prefix) ?? 'Unsupported';
}

export function isHttpProtocol(p: Protocol): boolean {
  return p === 'HTTP' || p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-Web' || p === 'Unsupported';
}
