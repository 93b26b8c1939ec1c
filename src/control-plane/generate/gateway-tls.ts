// A router's HTTPS servers, as Istio's gateway.go builds them: one listener per server port with
// a tls_inspector and one filter chain per server (matched by SNI on its hosts), each terminating
// TLS with a DownstreamTlsContext whose certificate comes by SDS (`kubernetes://<credentialName>`,
// the CA for MUTUAL as `kubernetes://<credentialName>-cacert`) over ADS, then an HTTP connection
// manager on the server's own route config `https.<port>.<port name>.<gateway>.<namespace>`.
// Also: the SDS Secrets those names resolve to, and httpsRedirect on HTTP servers.
import { secretData } from '../../config/kinds.js';
import type { ProxyNode } from '../../xds/node.js';
import { typed } from '../../xds/any.js';
import type { NamedResource } from '../server/snapshot.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { GatewayServer, GatewayServerPort, ServerTlsSettings } from './gateway-servers.js';
import { terminatesTls } from './gateway-servers.js';
import { tlsInspector } from './gateway-l4.js';
import { listenerName, virtualHostName } from './names.js';
import { gatewayRoute } from './routes.js';
import { gatewayIstioMutualContext } from './mtls-gateway.js';

type EnvoyObject = Record<string, unknown>;

const DOWNSTREAM_TLS = 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const ADS_SOURCE = { ads: {}, resource_api_version: 'V3' };
/** Istio's gateway ALPN (util.ALPNHttp): HTTP/2 first, then HTTP/1.1. */
const GATEWAY_ALPN = ['h2', 'http/1.1'];
/** Istio's TLS versions → Envoy's. */
const VERSIONS: Readonly<Record<string, string>> = {
  TLS_AUTO: 'TLS_AUTO',
  TLSV1_0: 'TLSv1_0',
  TLSV1_1: 'TLSv1_1',
  TLSV1_2: 'TLSv1_2',
  TLSV1_3: 'TLSv1_3',
};

export const SDS_PREFIX = 'kubernetes://';

/** Builds an HTTP connection manager on an RDS route config (listeners.ts's, passed in). */
export type HcmBuilder = (statPrefix: string, routeName: string) => EnvoyObject;

/** `https.443.https.my-gateway.default` (Istio's gatewayRDSRouteName for HTTPS servers). */
export function httpsRouteName(port: number, server: GatewayServer): string {
  const [namespace, name] = server.gateway.split('/');
  return `https.${port}.${server.portName}.${name}.${namespace}`;
}

/** Where a Gateway's credentialName Secret lives: the gateway proxy's namespace, else the Gateway's. */
function credentialSecret(
  model: MeshModel,
  node: ProxyNode,
  server: GatewayServer,
  name: string,
): Record<string, Buffer> | undefined {
  const gatewayNs = server.gateway.split('/')[0] ?? '';
  const r = model.secret(node.namespace, name) ?? model.secret(gatewayNs, name);
  return r ? secretData(r.spec) : undefined;
}

/** Istio's key names for kubernetes.io/tls Secrets, and its generic ones. */
export function certOf(d: Record<string, Buffer>): { cert: Buffer; key: Buffer } | undefined {
  const cert = d['tls.crt'] ?? d['cert'];
  const key = d['tls.key'] ?? d['key'];
  return cert && key ? { cert, key } : undefined;
}
export function caOf(d: Record<string, Buffer> | undefined): Buffer | undefined {
  return d?.['ca.crt'] ?? d?.['cacert'];
}

/**
 * Why the router cannot serve this server's TLS, or undefined when it can: a missing Secret, a
 * Secret without a certificate, MUTUAL without a CA. Istio leaves such servers out.
 */
export function credentialProblem(
  model: MeshModel,
  node: ProxyNode,
  server: GatewayServer,
): string | undefined {
  const tls = server.tls ?? {};
  // ISTIO_MUTUAL serves the gateway's own workload certificate: no Secret involved.
  if (tls.mode === 'ISTIO_MUTUAL') return undefined;
  const name = tls.credentialName;
  if (!name) return 'tls.credentialName is required (files are not mounted in local mode)';
  const data = credentialSecret(model, node, server, name);
  if (!data) return `Secret ${name} not found`;
  if (!certOf(data)) return `Secret ${name} has no tls.crt and tls.key`;
  if (
    tls.mode === 'MUTUAL' &&
    !caOf(data) &&
    !caOf(credentialSecret(model, node, server, `${name}-cacert`))
  )
    return `MUTUAL needs ca.crt in Secret ${name} (or Secret ${name}-cacert)`;
  return undefined;
}

function sdsConfig(name: string): EnvoyObject {
  return { name, sds_config: ADS_SOURCE };
}

/** Istio's buildGatewayListenerTLSContext for SIMPLE and MUTUAL with a credentialName. */
export function downstreamTlsContext(tls: ServerTlsSettings): EnvoyObject {
  if (tls.mode === 'ISTIO_MUTUAL') return gatewayIstioMutualContext(tls);
  const name = `${SDS_PREFIX}${tls.credentialName ?? ''}`;
  const common: EnvoyObject = {
    alpn_protocols: GATEWAY_ALPN,
    tls_certificate_sds_secret_configs: [sdsConfig(name)],
  };
  if (tls.mode === 'MUTUAL') {
    const sans = tls.subjectAltNames ?? [];
    common['combined_validation_context'] = {
      default_validation_context: sans.length
        ? { match_subject_alt_names: sans.map((exact) => ({ exact })) }
        : {},
      validation_context_sds_secret_config: sdsConfig(`${name}-cacert`),
    };
  }
  // Istio's gateways default to TLS 1.2 at least.
  const params: EnvoyObject = {
    tls_minimum_protocol_version: VERSIONS[tls.minProtocolVersion ?? ''] ?? 'TLSv1_2',
  };
  if (tls.maxProtocolVersion && VERSIONS[tls.maxProtocolVersion])
    params['tls_maximum_protocol_version'] = VERSIONS[tls.maxProtocolVersion];
  if (tls.cipherSuites?.length) params['cipher_suites'] = [...tls.cipherSuites];
  common['tls_params'] = params;
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: typed(DOWNSTREAM_TLS, {
      common_tls_context: common,
      require_client_certificate: tls.mode === 'MUTUAL',
    }),
  };
}

/** SNI names a server matches: its hosts (namespace dropped); none (any SNI) for `*`. */
function serverNames(server: GatewayServer): string[] {
  const hosts = server.hosts.map((h) => h.host);
  return hosts.includes('*') ? [] : [...new Set(hosts)].sort();
}

export function gatewayHttpsListener(
  node: ProxyNode,
  s: GatewayServerPort,
  model: MeshModel,
  hcm: HcmBuilder,
): NamedResource | undefined {
  const chains: EnvoyObject[] = [];
  const seen = new Set<string>();
  for (const server of s.servers) {
    if (!terminatesTls(server) || credentialProblem(model, node, server)) continue;
    const names = serverNames(server);
    // Istio skips a server whose SNI match an earlier one took (the proxy would refuse both).
    const key = names.join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    const route = httpsRouteName(s.port, server);
    chains.push({
      name: route,
      ...(names.length ? { filter_chain_match: { server_names: names } } : {}),
      transport_socket: downstreamTlsContext(server.tls ?? {}),
      filters: [hcm(`outbound_${node.ip}_${s.hostPort}`, route)],
    });
  }
  if (chains.length === 0) return undefined;
  const name = listenerName(node.ip, s.hostPort);
  return {
    name,
    resource: {
      name,
      address: { socket_address: { address: node.ip, port_value: s.hostPort } },
      traffic_direction: 'OUTBOUND',
      listener_filters: [tlsInspector()],
      filter_chains: chains,
    },
  };
}

/** One route config per HTTPS server (Istio does not merge HTTPS servers' routes). */
export function gatewayHttpsRoutes(
  node: ProxyNode,
  s: GatewayServerPort,
  model: MeshModel,
): NamedResource[] {
  const out: NamedResource[] = [];
  const seen = new Set<string>();
  for (const server of s.servers) {
    if (!terminatesTls(server) || credentialProblem(model, node, server)) continue;
    const name = httpsRouteName(s.port, server);
    if (seen.has(name)) continue;
    seen.add(name);
    const built = gatewayRoute({ ...s, servers: [server] }, model, node.namespace);
    out.push({ name, resource: { ...built.resource, name } });
  }
  return out;
}

/** The SDS Secrets the router's HTTPS servers name. */
export function gatewaySecrets(
  node: ProxyNode,
  servers: readonly GatewayServerPort[],
  model: MeshModel,
): NamedResource[] {
  const out = new Map<string, EnvoyObject>();
  for (const s of servers) {
    if (s.protocol !== 'HTTPS') continue;
    for (const server of s.servers) {
      if (!terminatesTls(server) || credentialProblem(model, node, server)) continue;
      if (server.tlsMode === 'ISTIO_MUTUAL') continue;
      const credential = server.tls?.credentialName ?? '';
      const data = credentialSecret(model, node, server, credential) ?? {};
      const pair = certOf(data);
      if (!pair) continue;
      const name = `${SDS_PREFIX}${credential}`;
      out.set(name, {
        name,
        tls_certificate: {
          certificate_chain: { inline_bytes: pair.cert.toString('base64') },
          private_key: { inline_bytes: pair.key.toString('base64') },
        },
      });
      if (server.tlsMode === 'MUTUAL') {
        const ca =
          caOf(data) ?? caOf(credentialSecret(model, node, server, `${credential}-cacert`));
        if (ca)
          out.set(`${name}-cacert`, {
            name: `${name}-cacert`,
            validation_context: { trusted_ca: { inline_bytes: ca.toString('base64') } },
          });
      }
    }
  }
  return [...out]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, resource]) => ({ name, resource }));
}

const REDIRECT_ROUTE: EnvoyObject = {
  name: 'https_redirect',
  match: { prefix: '/' },
  redirect: { https_redirect: true, response_code: 'MOVED_PERMANENTLY' },
};

/**
 * httpsRedirect on HTTP servers: Istio sets require_tls ALL on their virtual hosts (adding one
 * for each host no VirtualService covers); skiff's proxies get the same 301 to https as a
 * redirect route in place of the virtual host's routes.
 */
export function withHttpsRedirect(
  route: NamedResource,
  s: GatewayServerPort,
  model: MeshModel,
  proxyNamespace: string,
): NamedResource {
  const redirecting = s.servers.filter((sv) => sv.tls?.httpsRedirect === true);
  if (redirecting.length === 0) return route;
  const names = new Set<string>();
  const own = gatewayRoute({ ...s, servers: redirecting }, model, proxyNamespace);
  for (const vh of ((own.resource as EnvoyObject)['virtual_hosts'] as EnvoyObject[] | undefined) ??
    [])
    names.add(String(vh['name']));
  const vhosts = (
    ((route.resource as EnvoyObject)['virtual_hosts'] as EnvoyObject[] | undefined) ?? []
  ).map((vh) => (names.has(String(vh['name'])) ? { ...vh, routes: [REDIRECT_ROUTE] } : vh));
  const have = new Set(vhosts.map((vh) => String(vh['name'])));
  const domains = new Set(vhosts.flatMap((vh) => (vh['domains'] as string[] | undefined) ?? []));
  for (const server of redirecting)
    for (const { host } of server.hosts) {
      const name = virtualHostName(host, s.port);
      if (have.has(name) || domains.has(host)) continue;
      have.add(name);
      vhosts.push({
        name,
        domains: host === '*' ? ['*'] : [host, `${host}:${s.port}`],
        routes: [REDIRECT_ROUTE],
      });
    }
  return { name: route.name, resource: { ...route.resource, virtual_hosts: vhosts } };
}
