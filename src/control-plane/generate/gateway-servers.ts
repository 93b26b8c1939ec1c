// The Gateway servers a router proxy serves, grouped by port (servers on one port share a
// listener), with local mode's port mapping: server port P is served on host port P when
// P >= 1024, else on 8000 + P, unless the control plane was told otherwise.
import type { GatewaySpec } from '../../config/kinds.js';
import type { ProxyNode } from '../../xds/node.js';
import type { MeshModel } from '../model/mesh-model.js';

export interface ServerHost {
  /** Namespace part of `ns/host` (`*` when absent or `*`; `.` resolved to the Gateway's). */
  readonly namespace: string;
  readonly host: string;
}

/** A server's `tls` block, in the plain shape the generators read. */
export interface ServerTlsSettings {
  readonly mode?: string;
  readonly httpsRedirect?: boolean;
  readonly credentialName?: string;
  readonly serverCertificate?: string;
  readonly privateKey?: string;
  readonly caCertificates?: string;
  readonly subjectAltNames?: readonly string[];
  readonly minProtocolVersion?: string;
  readonly maxProtocolVersion?: string;
  readonly cipherSuites?: readonly string[];
}

export interface GatewayServer {
  /** `namespace/name` of the Gateway. */
  readonly gateway: string;
  readonly hosts: readonly ServerHost[];
  /** The server's tls.mode (PASSTHROUGH, SIMPLE, ...), when it has TLS settings. */
  readonly tlsMode?: string;
  readonly tls?: ServerTlsSettings;
  /** port.name (Istio names HTTPS route configs with it). */
  readonly portName: string;
  /** The server's index in its Gateway's `servers` (for messages). */
  readonly index: number;
}

export interface GatewayServerPort {
  /** The server port as the Gateway declares it (names the route config `http.<port>`). */
  readonly port: number;
  /** Where the router actually listens. */
  readonly hostPort: number;
  readonly protocol: string;
  readonly servers: readonly GatewayServer[];
}

/** Servers whose traffic the router terminates as plaintext HTTP. */
export function isHttpServer(s: GatewayServerPort): boolean {
  return (
    s.protocol === 'HTTP' ||
    s.protocol === 'HTTP2' ||
    s.protocol === 'GRPC' ||
    s.protocol === 'GRPC-WEB'
  );
}

/** TLS modes the router terminates (ISTIO_MUTUAL: with its workload identity, gateway-tls.ts). */
export function terminatesTls(server: GatewayServer): boolean {
  return (
    server.tlsMode === 'SIMPLE' || server.tlsMode === 'MUTUAL' || server.tlsMode === 'ISTIO_MUTUAL'
  );
}

/** HTTPS servers: TLS terminated by the router, then HTTP/1.1 or HTTP/2 by ALPN. */
export function isHttpsServer(s: GatewayServerPort): boolean {
  return s.protocol === 'HTTPS' && s.servers.some(terminatesTls);
}

export function localHostPort(port: number, overrides: Readonly<Record<number, number>>): number {
  return overrides[port] ?? (port >= 1024 ? port : 8000 + port);
}

function parseServerHost(raw: string, gatewayNamespace: string): ServerHost {
  const slash = raw.indexOf('/');
  if (slash < 0) return { namespace: '*', host: raw.toLowerCase() };
  const ns = raw.slice(0, slash);
  return {
    namespace: ns === '.' ? gatewayNamespace : ns,
    host: raw.slice(slash + 1).toLowerCase(),
  };
}

type Server = NonNullable<GatewaySpec['servers']>[number];

export function gatewayServerPorts(
  node: ProxyNode,
  model: MeshModel,
  overrides: Readonly<Record<number, number>>,
): GatewayServerPort[] {
  const byPort = new Map<number, { protocol: string; servers: GatewayServer[] }>();
  for (const gw of model.gatewaysSelecting(node.labels)) {
    const gateway = `${gw.metadata.namespace}/${gw.metadata.name}`;
    ((gw.spec.servers ?? []) as Server[]).forEach((server, index) => {
      const port = server.port?.number;
      if (!port) return;
      const protocol = (server.port?.protocol ?? 'HTTP').toUpperCase();
      const entry = byPort.get(port) ?? { protocol, servers: [] };
      entry.servers.push({
        gateway,
        hosts: (server.hosts ?? []).map((h) => parseServerHost(h, gw.metadata.namespace)),
        ...(server.tls?.mode ? { tlsMode: server.tls.mode } : {}),
        ...(server.tls ? { tls: server.tls as ServerTlsSettings } : {}),
        portName: server.port?.name ?? '',
        index,
      });
      byPort.set(port, entry);
    });
  }
  return [...byPort]
    .sort(([a], [b]) => a - b)
    .map(([port, e]) => ({
      port,
      hostPort: localHostPort(port, overrides),
      protocol: e.protocol,
      servers: e.servers,
    }));
}
