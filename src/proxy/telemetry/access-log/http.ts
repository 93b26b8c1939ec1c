// The HTTP connection manager's side of access logs: counts a request's body bytes and timings
// while it runs (only when the connection manager has access logs), and writes the lines when
// the response is over. Counting wraps the request's push and the response's write/end on that
// one request's objects: nothing is read twice, and streams stay as the router pipes them.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TcpSession } from '../../filters/network/tcp_proxy/session.js';
import type { HttpStream } from '../../http/stream.js';
import type { AccessLogs } from './config.js';
import type { HttpCounters } from './entry.js';
import { HttpLogEntry, TcpLogEntry } from './entry.js';

const counters = new WeakMap<HttpStream, HttpCounters>();

type Chunk = string | Uint8Array | null | undefined;
const size = (c: Chunk): number =>
  c == null ? 0 : typeof c === 'string' ? Buffer.byteLength(c) : c.byteLength;

/** Starts counting a request's bytes; called when the connection manager takes the request. */
export function beginHttpLog(stream: HttpStream): void {
  const c: HttpCounters = {
    bytesReceived: 0,
    bytesSent: 0,
    requestEnd: undefined,
    responseStart: undefined,
    endTime: undefined,
    trailers: undefined,
  };
  counters.set(stream, c);
  const req = stream.req as IncomingMessage & { push(chunk: Chunk, enc?: string): boolean };
  const push = req.push.bind(req);
  req.push = (chunk: Chunk, enc?: string) => {
    if (chunk === null) c.requestEnd ??= performance.now();
    else c.bytesReceived += size(chunk);
    return push(chunk, enc);
  };
  if (req.complete) c.requestEnd = performance.now();
  const res = stream.res as ServerResponse & {
    write(chunk: Chunk, ...rest: unknown[]): boolean;
    end(chunk?: unknown, ...rest: unknown[]): ServerResponse;
  };
  const write = res.write.bind(res) as (...a: unknown[]) => boolean;
  const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
  const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => ServerResponse;
  const addTrailers = res.addTrailers.bind(res);
  res.writeHead = ((...a: unknown[]) => {
    c.responseStart ??= performance.now();
    return writeHead(...a);
  }) as typeof res.writeHead;
  res.write = (chunk: Chunk, ...rest: unknown[]) => {
    c.responseStart ??= performance.now();
    c.bytesSent += size(chunk);
    return write(chunk, ...rest);
  };
  res.end = (chunk?: unknown, ...rest: unknown[]) => {
    c.responseStart ??= performance.now();
    if (typeof chunk !== 'function') c.bytesSent += size(chunk as Chunk);
    return end(chunk, ...rest);
  };
  res.addTrailers = (t) => {
    const out: Record<string, string> = (c.trailers ??= {});
    const entries = Array.isArray(t) ? t : Object.entries(t);
    for (const [k, v] of entries as [string, unknown][]) out[String(k).toLowerCase()] = String(v);
    addTrailers(t);
  };
}

/** Writes the lines of a finished request (the response's close). */
export function emitHttpLog(logs: AccessLogs, stream: HttpStream): void {
  const c = counters.get(stream);
  if (!c) return;
  c.endTime = performance.now();
  logs.emit(new HttpLogEntry(stream, c));
}

/** Writes the lines of a finished tcp_proxy connection. */
export function emitTcpLog(logs: AccessLogs, session: TcpSession): void {
  logs.emit(new TcpLogEntry(session, session.connection));
}
