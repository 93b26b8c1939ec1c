// What a connection manager does for Istio's telemetry on every request: the peer metadata
// exchange (istio.metadata_exchange: read and strip the peer's headers, send ours), byte counts,
// the gRPC status, and the istio.stats record when the request is over. CONNECT tunnels to TCP
// services count as TCP connections (local mode's outbound TCP goes through CONNECT, where
// Istio's sidecar would run tcp_proxy); tunnels into the HTTP path again are counted inside.
import { connectionSecurity } from '../../tls/peer-identity.js';
import { removeRequestHeaders } from '../../http/request-headers.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpStream } from '../../http/stream.js';
import type { HeaderMap } from '../../filters/http/header-map.js';
import type { ClusterManager } from '../../upstream/cluster-manager.js';
import type { ExpressionInput } from './expression.js';
import type { PeerMetadataConfig } from './filters.js';
import type { PeerInfo } from './peer.js';
import { PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER } from './peer.js';
import type { Outcome, StatsRecorder } from './istio-stats.js';
import { endpointPeer, flagsString } from './istio-stats.js';

/** The local-mode internal listener HTTP-port tunnels go through (counted as HTTP inside). */
const OUTBOUND_TUNNEL = 'outbound_tunnel';

export interface PeerSource {
  readonly nodeId: string;
  readonly headerValue: string;
  decode(value: string): PeerInfo | undefined;
}

class StreamState {
  peer: PeerInfo | undefined;
  /** The downstream sent peer headers (Istio answers with ours only then). */
  peerIdReceived = false;
  peerReceived = false;
  requestBodyBytes = 0;
  responseBodyBytes = 0;
  grpcStatus = '';
  /** The downstream connection (req.socket is gone once the response closed). */
  socket: Socket | undefined;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function byteLength(chunk: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk);
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}

/** The response's state, where the shared byte-counting write and end below find it. */
const STATE = Symbol('istio.telemetry');
type CountedResponse = ServerResponse & { [STATE]: StreamState };
type Write = (this: ServerResponse, chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;
type End = (this: ServerResponse, chunk?: unknown, encoding?: unknown, cb?: unknown) => unknown;

/**
 * Response body bytes, counted by one write and one end shared by every response (no closures
 * per request); each calls the prototype's own, whose argument juggling stays as it is.
 */
function countingWrite(this: ServerResponse, chunk: unknown, encoding?: unknown, cb?: unknown) {
  const self = this as CountedResponse;
  self[STATE].responseBodyBytes += byteLength(chunk);
  return (Object.getPrototypeOf(self) as { write: Write }).write.call(self, chunk, encoding, cb);
}

function countingEnd(this: ServerResponse, chunk?: unknown, encoding?: unknown, cb?: unknown) {
  const self = this as CountedResponse;
  if (typeof chunk !== 'function') self[STATE].responseBodyBytes += byteLength(chunk);
  return (Object.getPrototypeOf(self) as { end: End }).end.call(self, chunk, encoding, cb);
}

/** Header block size: what HTTP/1.1 puts on the wire (Envoy counts wire bytes). */
function requestHeadBytes(req: IncomingMessage): number {
  let n = (req.method?.length ?? 0) + (req.url?.length ?? 0) + 12; // ' ' ' HTTP/1.1\r\n'
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2)
    n += (raw[i] as string).length + (raw[i + 1] as string).length + 4;
  return n + 2;
}

function responseHeadBytes(res: ServerResponse): number {
  const header = (res as unknown as { _header?: string | null })._header;
  if (typeof header === 'string') return header.length;
  if (!res.headersSent) return 0;
  // HTTP/2: the header block as HTTP/1.1 would spell it (HPACK makes the wire smaller).
  let n = 17;
  for (const [k, v] of Object.entries(res.getHeaders())) n += k.length + String(v).length + 4;
  return n + 2;
}

export class HcmTelemetry {
  private readonly inbound: boolean;
  /** Our peer headers as the outbound side adds them to every request (built once). */
  private readonly ownHeaders: readonly [string, string][];

  constructor(
    private readonly stats: StatsRecorder | undefined,
    private readonly peers: PeerMetadataConfig | undefined,
    private readonly source: PeerSource,
    private readonly clusters: ClusterManager,
    direction: string,
  ) {
    this.inbound = direction === 'INBOUND';
    this.ownHeaders = [
      [PEER_METADATA_ID_HEADER, source.nodeId],
      [PEER_METADATA_HEADER, source.headerValue],
    ];
  }

  private state(stream: HttpStream): StreamState | undefined {
    const st = stream.telemetryState;
    return st instanceof StreamState ? st : undefined;
  }

  /** Before routing: the downstream's peer headers read and stripped; ours added upstream. */
  onRequest(stream: HttpStream): void {
    const st = new StreamState();
    stream.telemetryState = st;
    const req = stream.req;
    st.socket = req.socket;
    const p = this.peers;
    if (p) {
      if (this.inbound && p.downstreamDiscovery) {
        const value = first(req.headers[PEER_METADATA_HEADER]);
        st.peerIdReceived = req.headers[PEER_METADATA_ID_HEADER] !== undefined;
        st.peerReceived = value !== undefined;
        if (value) st.peer = this.source.decode(value);
        // From what the router forwards (it copies rawHeaders) and from headers.
        removeRequestHeaders(req, PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER);
      }
      if (!this.inbound && p.upstreamPropagation) {
        // The same two entries every time: nothing mutates an added header in place.
        const added = stream.addedHeaders as [string, string][];
        added.push(...this.ownHeaders);
      }
    }
    if (!this.stats) return;
    // Body bytes as they arrive (HTTP/1.1 and HTTP/2 requests are both fed through push); a
    // request without a body (or an upgrade, whose bytes bypass it) has none to count.
    if (stream.hasBody) {
      const push = req.push;
      req.push = function (chunk: unknown, encoding?: BufferEncoding): boolean {
        if (chunk) st.requestBodyBytes += byteLength(chunk);
        return push.call(this, chunk, encoding);
      };
    }
    const res = stream.res as CountedResponse;
    res[STATE] = st;
    res.write = countingWrite as typeof res.write;
    // HTTP/2's end(chunk) goes through write; HTTP/1.1's does not.
    if (req.httpVersionMajor !== 2) res.end = countingEnd as typeof res.end;
    if (isGrpc(req)) {
      const addTrailers = res.addTrailers;
      res.addTrailers = function (this: ServerResponse, headers) {
        const s = (headers as Record<string, unknown>)['grpc-status'];
        if (s !== undefined) st.grpcStatus = String(s);
        return addTrailers.call(this, headers);
      };
    }
  }

  /** Every response head: the upstream's peer headers read and stripped, ours added back. */
  onResponseHeaders(stream: HttpStream, _status: number, headers: HeaderMap): void {
    const st = this.state(stream);
    if (!st) return;
    const grpc = headers.get('grpc-status');
    if (grpc !== undefined) st.grpcStatus = grpc;
    const p = this.peers;
    if (!p) return;
    if (!this.inbound && p.upstreamDiscovery) {
      const value = headers.get(PEER_METADATA_HEADER);
      if (value) st.peer = this.source.decode(value);
      headers.remove(PEER_METADATA_HEADER);
      headers.remove(PEER_METADATA_ID_HEADER);
    }
    if (this.inbound && p.downstreamPropagation) {
      if (st.peerIdReceived) headers.set(PEER_METADATA_ID_HEADER, this.source.nodeId);
      if (st.peerReceived) headers.set(PEER_METADATA_HEADER, this.source.headerValue);
    }
  }

  /** The request is over (flags final): the istio.stats record. */
  onComplete(stream: HttpStream): void {
    const st = this.state(stream);
    const stats = this.stats;
    if (!st || !stats) return;
    if (stream.clusterName === OUTBOUND_TUNNEL) return;
    const { req, res } = stream;
    const peer = st.peer ?? (this.inbound ? undefined : endpointPeer(stream.upstreamHost));
    const cluster = stream.clusterName ? this.clusters.get(stream.clusterName) : undefined;
    const code = res.headersSent ? res.statusCode : 0;
    const flags = flagsString(stream.responseFlags);
    const socket = st.socket;
    if (req.method === 'CONNECT' && code === 200 && socket) {
      stats.recordTcp(
        {
          peer,
          cluster,
          clusterName: stream.clusterName,
          sent: socket.bytesWritten,
          received: socket.bytesRead,
        },
        { protocol: 'tcp', responseCode: '0', grpcStatus: '', flags, expressionInput: undefined },
      );
      return;
    }
    const grpc = isGrpc(req);
    const outcome: Outcome = {
      protocol: grpc ? 'grpc' : 'http',
      responseCode: String(code),
      grpcStatus: grpc ? st.grpcStatus : '',
      flags,
      expressionInput: stats.config.expressions.length
        ? expressionInput(stream, code, st, peer, this.inbound)
        : undefined,
    };
    stats.recordHttp(
      {
        peer,
        authority: stream.view.authority,
        cluster,
        clusterName: stream.clusterName,
        durationMs: stream.elapsedMs(),
        requestBytes: requestHeadBytes(req) + st.requestBodyBytes,
        responseBytes: responseHeadBytes(res) + st.responseBodyBytes,
        security: connectionSecurity(this.inbound, socket, stream.upstreamHost),
      },
      outcome,
    );
  }
}

function isGrpc(req: IncomingMessage): boolean {
  const ct = req.headers['content-type'];
  return typeof ct === 'string' && ct.startsWith('application/grpc');
}

function expressionInput(
  stream: HttpStream,
  code: number,
  st: StreamState,
  peer: PeerInfo | undefined,
  inbound: boolean,
): ExpressionInput {
  const { view, req } = stream;
  return {
    header: (name) => first(view.headers[name]),
    host: view.authority,
    method: view.method,
    path: view.query ? `${view.path}?${view.query}` : view.path,
    scheme: view.scheme,
    protocol: req.httpVersionMajor === 2 ? 'HTTP/2' : `HTTP/${req.httpVersion}`,
    requestId: stream.requestId,
    responseCode: code,
    grpcStatus: st.grpcStatus,
    destinationPort: st.socket?.localPort ?? 0,
    clusterName: stream.clusterName,
    upstreamPeer: inbound ? undefined : peer,
    downstreamPeer: inbound ? peer : undefined,
  };
}
