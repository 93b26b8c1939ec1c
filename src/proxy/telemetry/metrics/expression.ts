// The attribute expressions Telemetry tagOverrides carry (CEL in Istio, evaluated by the stats
// filter per request). skiff evaluates a subset: string literals, request.headers['name'],
// request.host / method / url_path / path / scheme / protocol / id, response.code and
// grpc_status, destination.port, xds.cluster_name, upstream_peer / downstream_peer fields, each
// optionally inside string(...). Anything else is rejected when the config is validated.

import type { PeerInfo } from './peer.js';

/** What an expression can read about one request or connection. */
export interface ExpressionInput {
  header(name: string): string | undefined;
  readonly host: string;
  readonly method: string;
  /** Path with the query. */
  readonly path: string;
  readonly scheme: string;
  readonly protocol: string;
  readonly requestId: string;
  readonly responseCode: number;
  readonly grpcStatus: string;
  readonly destinationPort: number;
  readonly clusterName: string;
  readonly upstreamPeer: PeerInfo | undefined;
  readonly downstreamPeer: PeerInfo | undefined;
}

/** Returns the value, or undefined when the attribute is absent (the label becomes 'unknown'). */
export type Expression = (input: ExpressionInput) => string | undefined;

export class ExpressionError extends Error {
  readonly code = 'ERR_TELEMETRY_EXPRESSION';
}

const PEER_FIELDS: Readonly<Record<string, (p: PeerInfo) => string>> = {
  name: (p) => p.instanceName,
  namespace: (p) => p.namespace,
  workload: (p) => p.workloadName,
  cluster: (p) => p.clusterId,
  service: (p) => p.canonicalName,
  revision: (p) => p.canonicalRevision,
  app: (p) => p.app,
  version: (p) => p.version,
};

const SIMPLE: Readonly<Record<string, Expression>> = {
  'request.host': (i) => i.host,
  'request.method': (i) => i.method,
  'request.path': (i) => i.path,
  'request.url_path': (i) => {
    const q = i.path.indexOf('?');
    return q < 0 ? i.path : i.path.slice(0, q);
  },
  'request.scheme': (i) => i.scheme,
  'request.protocol': (i) => i.protocol,
  'request.id': (i) => i.requestId || undefined,
  'request.useragent': (i) => i.header('user-agent'),
  'request.referer': (i) => i.header('referer'),
  'response.code': (i) => (i.responseCode ? String(i.responseCode) : undefined),
  'response.grpc_status': (i) => i.grpcStatus || undefined,
  'destination.port': (i) => (i.destinationPort ? String(i.destinationPort) : undefined),
  'xds.cluster_name': (i) => i.clusterName || undefined,
};

function peerField(side: 'upstream' | 'downstream', field: string): Expression | undefined {
  const get = PEER_FIELDS[field];
  if (!get) return undefined;
  return side === 'upstream'
    ? (i) => (i.upstreamPeer ? get(i.upstreamPeer) || undefined : undefined)
    : (i) => (i.downstreamPeer ? get(i.downstreamPeer) || undefined : undefined);
}

const SUPPORTED =
  "string literals, request.headers['name'], request.host, request.method, request.path, " +
  'request.url_path, request.scheme, request.protocol, request.id, request.useragent, ' +
  'response.code, response.grpc_status, destination.port, xds.cluster_name, ' +
  'upstream_peer.<field> and downstream_peer.<field> (' +
  Object.keys(PEER_FIELDS).join(', ') +
  '), each optionally inside string(...)';

/** Compiles an expression; throws ExpressionError naming what skiff supports. */
export function compileExpression(source: string): Expression {
  let s = source.trim();
  const wrapped = /^string\((.*)\)$/s.exec(s);
  if (wrapped) s = (wrapped[1] ?? '').trim();
  const literal = /^'([^'\\]*)'$|^"([^"\\]*)"$/.exec(s);
  if (literal) {
    const v = literal[1] ?? literal[2] ?? '';
    return () => v;
  }
  const header = /^request\.headers\[\s*(?:'([^']+)'|"([^"]+)")\s*\]$/.exec(s);
  if (header) {
    const name = (header[1] ?? header[2] ?? '').toLowerCase();
    return (i) => i.header(name);
  }
  const simple = SIMPLE[s];
  if (simple) return simple;
  const peer = /^(?:filter_state\.)?(upstream|downstream)_peer\.([a-z_]+)$/.exec(s);
  if (peer) {
    const e = peerField(peer[1] as 'upstream' | 'downstream', peer[2] ?? '');
    if (e) return e;
  }
  throw new ExpressionError(
    `expression ${JSON.stringify(source)} is not supported by skiff; supported: ${SUPPORTED}`,
  );
}
