// Upgraded requests (Envoy's HTTP upgrades): a websocket (or other Upgrade) request goes to the
// host over its own HTTP/1.1 connection, and once the upstream answers 101 the two sockets carry
// raw bytes both ways; a CONNECT on a route whose upgrade_configs has connect_config is
// terminated here (Envoy's CONNECT termination): connect to the host, answer 200, splice. A
// cluster whose host is an internal listener takes the tunnel's bytes in-process instead (local
// mode's HTTP routing inside CONNECT tunnels).
import type http from 'node:http';
import type { Socket } from 'node:net';
import type { HttpStream } from '../../../http/stream.js';
import { connectionTermination, upstreamTimeout } from '../../../errors.js';
import type { ProxyError } from '../../../errors.js';
import type { UpgradeRequest } from '../../network/http_connection_manager/upgrade.js';
import { connectHost } from '../../network/tcp_proxy/connect.js';
import { TcpSession } from '../../network/tcp_proxy/session.js';
import { splice } from '../../network/tcp_proxy/splice.js';
import type { AttemptOptions, AttemptResult } from './upstream-request-common.js';
import { HOP_BY_HOP } from './upstream-request-common.js';

/** A tunnel's idle timeout (tcp_proxy's default: one hour). */
const TUNNEL_IDLE_MS = 3600_000;
/** The most response head we read before calling the upstream broken (Envoy's 60 KiB). */
const MAX_HEAD = 60 * 1024;

export function attemptUpgrade(
  stream: HttpStream,
  u: UpgradeRequest,
  o: AttemptOptions,
): Promise<AttemptResult> {
  const action = stream.route?.action;
  if (u.type === 'connect' && action?.kind === 'forward' && action.upgrades.terminateConnect)
    return terminateConnect(stream, u, o);
  return upgradeUpstream(stream, u, o);
}

/** The tunnel's record: bytes and how it ended, folded into the stream when it closes. */
function tunnelSession(stream: HttpStream): TcpSession {
  return new TcpSession(
    stream.listenerName,
    stream.clusterName,
    stream.req.socket.remoteAddress ?? '',
  );
}

function onTunnelClosed(stream: HttpStream): (s: TcpSession) => void {
  return (s) => {
    for (const f of s.responseFlags) stream.responseFlags.add(f);
  };
}

/** Sends the 200 that opens a CONNECT tunnel (no Content-Length, no Connection: RFC 9110 §9.3.6). */
function acceptConnect(stream: HttpStream, u: UpgradeRequest, headers: string[]): void {
  const res = stream.res as http.ServerResponse & { _hasBody: boolean };
  res._hasBody = false;
  res.removeHeader('connection');
  u.established = true;
  stream.responseStarted = true;
  res.writeHead(200, headers);
  res.end();
  releaseSocket(res, u.socket);
}

/**
 * The response is over, the socket now carries the tunnel: it must not look like it still has
 * an HTTP response in progress (an internal listener's HTTP server would queue behind it). The
 * stream ends when the tunnel does.
 */
function releaseSocket(res: http.ServerResponse, socket: Socket): void {
  res.detachSocket(socket);
  socket.once('close', () => res.emit('close'));
}

async function terminateConnect(
  stream: HttpStream,
  u: UpgradeRequest,
  o: AttemptOptions,
): Promise<AttemptResult> {
  const authority = stream.view.authority;
  const port = Number(/:(\d+)$/.exec(authority)?.[1] ?? 443);
  const head: string[] = [];
  o.decorateHeaders(200, head);
  if (o.host.spec.internal) {
    acceptConnect(stream, u, head);
    if (!u.handoff(o.host.address, u.socket, { authority, port, head: u.head })) u.socket.destroy();
    return { kind: 'done', status: 200 };
  }
  let aborted = false;
  stream.abortUpstream = () => {
    aborted = true;
  };
  const upstream = await connectHost(
    o.host,
    o.cluster.config.connectTimeoutMs,
    o.cluster.config.tcpKeepalive,
  );
  stream.abortUpstream = undefined;
  if (aborted || u.socket.destroyed) {
    upstream.destroy();
    throw connectionTermination();
  }
  acceptConnect(stream, u, head);
  if (u.head.length) upstream.write(u.head);
  splice(u.socket, upstream, tunnelSession(stream), {
    idleTimeoutMs: TUNNEL_IDLE_MS,
    maxDurationMs: 0,
    onClose: onTunnelClosed(stream),
  });
  return { kind: 'done', status: 200 };
}

interface ParsedHead {
  readonly status: number;
  readonly headers: string[];
  /** Bytes after the head. */
  readonly rest: Buffer;
}

/** Parses an HTTP/1.1 response head; undefined while incomplete. Throws on garbage. */
export function parseResponseHead(data: Buffer): ParsedHead | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) {
    if (data.length > MAX_HEAD) throw new Error('response head too large');
    return undefined;
  }
  const lines = data.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!m) throw new Error('not an HTTP/1.1 response');
  const headers: string[] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error('malformed header line');
    headers.push(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { status: Number(m[1]), headers, rest: data.subarray(end + 4) };
}

/** The upgrade request's head as it goes upstream: the router's headers plus the upgrade. */
function requestHead(stream: HttpStream, u: UpgradeRequest, o: AttemptOptions): string {
  const target = u.type === 'connect' ? stream.view.authority : o.path;
  let head = `${o.method} ${target} HTTP/1.1\r\n`;
  for (let i = 0; i < o.headers.length; i += 2) head += `${o.headers[i]}: ${o.headers[i + 1]}\r\n`;
  if (u.type !== 'connect')
    head += `connection: upgrade\r\nupgrade: ${String(stream.req.headers.upgrade)}\r\n`;
  return `${head}\r\n`;
}

function upgradeUpstream(
  stream: HttpStream,
  u: UpgradeRequest,
  o: AttemptOptions,
): Promise<AttemptResult> {
  return new Promise<AttemptResult>((resolve, reject) => {
    let settled = false;
    let upstream: Socket | undefined;
    let timer: NodeJS.Timeout | undefined;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      stream.abortUpstream = undefined;
      fn();
    };
    const fail = (err: ProxyError) => {
      upstream?.destroy();
      finish(() => reject(err));
    };
    stream.abortUpstream = () => fail(connectionTermination());
    if (o.timeoutMs > 0) timer = setTimeout(() => fail(upstreamTimeout()), o.timeoutMs);
    connectHost(o.host, o.cluster.config.connectTimeoutMs, o.cluster.config.tcpKeepalive).then(
      (socket) => {
        if (settled) {
          socket.destroy();
          return;
        }
        upstream = socket;
        socket.write(requestHead(stream, u, o));
        let buffered: Buffer = Buffer.alloc(0);
        const onData = (chunk: Buffer) => {
          buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
          let head: ParsedHead | undefined;
          try {
            head = parseResponseHead(buffered);
          } catch {
            fail(connectionTermination());
            return;
          }
          if (!head) return;
          socket.off('data', onData);
          socket.off('end', onEnd);
          socket.pause();
          relay(stream, u, o, socket, head);
          finish(() => resolve({ kind: 'done', status: head.status }));
        };
        const onEnd = () => fail(connectionTermination());
        socket.on('data', onData);
        socket.once('end', onEnd);
        socket.on('error', () => fail(connectionTermination()));
      },
      (err: ProxyError) => fail(err),
    );
  });
}

/** The upstream answered: a switch (101, or 2xx to a CONNECT) opens the tunnel; else relay it. */
function relay(
  stream: HttpStream,
  u: UpgradeRequest,
  o: AttemptOptions,
  upstream: Socket,
  head: ParsedHead,
): void {
  const res = stream.res;
  const switched =
    head.status === 101 || (u.type === 'connect' && head.status < 300 && head.status >= 200);
  const out: string[] = [];
  for (let i = 0; i < head.headers.length; i += 2) {
    const name = head.headers[i] ?? '';
    const lower = name.toLowerCase();
    // A 101 keeps Connection and Upgrade: they are what it says.
    if (!(switched && (lower === 'connection' || lower === 'upgrade')) && HOP_BY_HOP.has(lower))
      continue;
    out.push(name, head.headers[i + 1] ?? '');
  }
  o.decorateHeaders(head.status, out);
  if (switched) {
    u.established = true;
    stream.responseStarted = true;
    if (u.type === 'connect') {
      acceptConnect(stream, u, out);
    } else {
      res.writeHead(head.status, out);
      res.end();
      releaseSocket(res, u.socket);
    }
    if (head.rest.length) u.socket.write(head.rest);
    if (u.head.length) upstream.write(u.head);
    splice(u.socket, upstream, tunnelSession(stream), {
      idleTimeoutMs: TUNNEL_IDLE_MS,
      maxDurationMs: 0,
      onClose: onTunnelClosed(stream),
    });
    return;
  }
  // Refused: an ordinary response, relayed to its end (the connection then closes). Its body
  // goes through as it came: by length, chunked (framing kept), or until the upstream closes.
  stream.responseStarted = true;
  const header = (name: string) => {
    for (let i = 0; i < head.headers.length; i += 2)
      if (head.headers[i]?.toLowerCase() === name) return head.headers[i + 1];
    return undefined;
  };
  const chunked = /chunked/i.test(header('transfer-encoding') ?? '');
  const length = header('content-length');
  let remaining = length === undefined || chunked ? Infinity : Number(length);
  if (chunked) out.push('transfer-encoding', 'chunked');
  res.writeHead(head.status, out);
  // The body is already framed: write it as it is.
  if (chunked) res.chunkedEncoding = false;
  let tail = '\r\n';
  const done = () => {
    upstream.destroy();
    res.end();
  };
  const write = (chunk: Buffer) => {
    const part = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
    remaining -= part.length;
    if (part.length && !res.write(part)) {
      upstream.pause();
      res.once('drain', () => upstream.resume());
    }
    if (chunked) tail = (tail + part.toString('latin1')).slice(-7);
    if (remaining <= 0 || (chunked && tail.endsWith('\r\n0\r\n\r\n'))) done();
  };
  if (head.rest.length) write(head.rest);
  if (remaining <= 0) return;
  upstream.on('data', write);
  upstream.once('end', done);
  upstream.once('close', done);
  upstream.resume();
}
