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

// Ports Istio never sniffs: unnamed, they are TCP (SMTP, DNS, MySQL, MongoDB).
const WELL_KNOWN_TCP_PORTS: ReadonlySet<number> = new Set([25, 53, 3306, 27017]);

/**
 * Kubernetes Service port → protocol, as Istio's kube.ConvertProtocol: appProtocol replaces the
 * port name when set; `grpc-web…` is gRPC-Web; otherwise the part before the first `-` names it.
 */
export function protocolOfServicePort(port: {
  name?: string;
  appProtocol?: string;
  protocol?: string;
  port?: number;
}): Protocol {
  if (port.protocol === 'UDP') return 'UDP';
  let name = port.name ?? '';
  if (port.appProtocol !== undefined) {
    // Kubernetes' standard appProtocol names.
    if (port.appProtocol === 'kubernetes.io/h2c') return 'HTTP2';
    if (port.appProtocol === 'kubernetes.io/ws') return 'HTTP';
    if (port.appProtocol === 'kubernetes.io/wss') return 'HTTPS';
    name = port.appProtocol;
  }
  if (name.toLowerCase().startsWith('grpc-web')) return 'GRPC-Web';
  const p = parseProtocol(name.split('-')[0]) ?? 'Unsupported';
  if (p === 'Unsupported' && port.port !== undefined && WELL_KNOWN_TCP_PORTS.has(port.port))
    return 'TCP';
  return p;
}

export function isHttpProtocol(p: Protocol): boolean {
  return p === 'HTTP' || p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-Web' || p === 'Unsupported';
}
