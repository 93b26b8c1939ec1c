// What every kind of upstream attempt shares (HTTP/1.1, HTTP/2, upgrades): the options the
// router passes, the result, which response headers never cross, how failures map onto Envoy's
// reset reasons, and writing a response head and trailers to the downstream, HTTP/1.1 or HTTP/2.
import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import type { Readable } from 'node:stream';
import type { HttpStream } from '../../../http/stream.js';
import { ProxyError, connectFailure, connectionTermination } from '../../../errors.js';
import type { Cluster } from '../../../upstream/cluster.js';
import type { Host } from '../../../upstream/host.js';

/** A response header lookup (lower-case names). */
export type HeaderLookup = (name: string) => string | undefined;

export interface AttemptOptions {
  readonly cluster: Cluster;
  readonly host: Host;
  readonly method: string;
  readonly path: string;
  /** Flat [name, value, ...], `host` first. */
  readonly headers: string[];
  readonly timeoutMs: number;
  /** The request body to send, when not the request itself (mirroring tees it). */
  readonly body?: Readable | undefined;
  /** False: shouldRetryStatus would say no to any status (no lookup needs building). */
  readonly retriesStatus: boolean;
  /** Called with the upstream status before anything is sent: true = retry instead of relaying. */
  readonly shouldRetryStatus: (status: number, header: HeaderLookup) => boolean;
  /** Adds to the response's flat [name, value, ...] header list before it is sent. */
  readonly decorateHeaders: (status: number, headers: string[]) => void;
}

export type AttemptResult =
  { kind: 'done'; status: number } | { kind: 'retry-status'; status: number };

/** Headers never relayed, either way (hop-by-hop, RFC 9110 §7.6.1). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

export class TimeoutError extends Error {
  readonly code = 'ERR_UPSTREAM_TIMEOUT';
}

/** Maps connection-level failures onto Envoy's reset reasons. */
export function classifyUpstreamError(err: Error & { code?: string }): ProxyError {
  // The connection pool's own verdicts (overflow) are already ProxyErrors.
  if (err instanceof ProxyError) return err;
  switch (err.code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return connectFailure(
        err.code === 'UND_ERR_CONNECT_TIMEOUT'
          ? 'delayed connect error: timeout'
          : `delayed connect error: ${err.code}`,
      );
    default:
      return connectionTermination();
  }
}

/** The upstream failed after part of its response went downstream: Envoy's UC, and its details. */
export function markResetAfterStart(stream: HttpStream): void {
  stream.responseFlags.add('UC');
  stream.responseCodeDetails = 'upstream_reset_after_response_started{connection_termination}';
}

export function isHttp2Downstream(stream: HttpStream): boolean {
  return stream.req.httpVersionMajor === 2;
}

/**
 * Sends the response head downstream. `endStream`: the response has no body (an upstream
 * HEADERS frame with END_STREAM): to an HTTP/2 client it goes as one HEADERS frame with
 * END_STREAM too, so a gRPC trailers-only response (grpc-status in the head) stays one.
 */
export function writeResponseHead(
  stream: HttpStream,
  status: number,
  headers: string[],
  endStream: boolean,
): void {
  const res = stream.res;
  stream.responseStarted = true;
  if (endStream && isHttp2Downstream(stream)) {
    const h2res = res as unknown as Http2ServerResponse;
    // The client reset the stream before its close was handled: respond() would throw.
    if (h2res.stream.destroyed) return;
    const out: Record<string, string | string[] | number> = { ':status': status };
    for (let i = 0; i < headers.length; i += 2) {
      const name = (headers[i] ?? '').toLowerCase();
      const value = headers[i + 1] ?? '';
      const prior = out[name];
      out[name] =
        prior === undefined
          ? value
          : Array.isArray(prior)
            ? [...prior, value]
            : [String(prior), value];
    }
    res.statusCode = status;
    h2res.stream.respond(out, { endStream: true });
    return;
  }
  res.writeHead(status, headers);
  if (endStream) res.end();
}

/**
 * Ends the downstream response with the upstream's trailers, through the stream's body
 * transform when a filter set one (its last bytes, the trailers it leaves).
 */
export function endStreamResponse(
  stream: HttpStream,
  trailers: Readonly<Record<string, string | string[] | undefined>> | undefined,
): void {
  const transform = stream.bodyTransform;
  if (transform?.responseEnd) {
    const last = transform.responseEnd(trailers);
    if (last.data?.length) stream.res.write(last.data);
    trailers = last.trailers;
  }
  endResponse(stream.res, isHttp2Downstream(stream), trailers);
}

/** Ends the downstream response with the upstream's trailers (HTTP/2, or chunked HTTP/1.1). */
export function endResponse(
  res: ServerResponse,
  http2: boolean,
  trailers: Readonly<Record<string, string | string[] | undefined>> | undefined,
): void {
  if (trailers && (http2 || res.chunkedEncoding)) {
    const t: Record<string, string | string[]> = {};
    let any = false;
    for (const [k, v] of Object.entries(trailers)) {
      if (v === undefined || k.startsWith(':')) continue;
      t[k] = v;
      any = true;
    }
    if (any) res.addTrailers(t);
  }
  res.end();
}
