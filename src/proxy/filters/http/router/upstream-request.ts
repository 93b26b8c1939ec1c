// One attempt of a request to one upstream host over its cluster's pool. Resolves once the
// response is fully relayed; rejects with a ProxyError when it failed before any byte of the
// response went downstream (so that the router may retry or answer locally).
import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import type { HttpStream } from '../../../http/stream.js';
import type { ProxyError } from '../../../errors.js';
import { connectFailure, connectionTermination, upstreamTimeout } from '../../../errors.js';

/** Response headers never relayed (hop-by-hop, RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

export interface AttemptOptions {
  readonly dispatcher: Dispatcher;
  readonly method: string;
  readonly path: string;
  readonly headers: string[];
  readonly timeoutMs: number;
  /** Called with the upstream status before anything is sent: true = retry instead of relaying. */
  readonly shouldRetryStatus: (status: number) => boolean;
  readonly decorateHeaders: (status: number, headers: Record<string, string | string[]>) => void;
}

export type AttemptResult =
  { kind: 'done'; status: number } | { kind: 'retry-status'; status: number };

/** Maps undici's failures onto Envoy's reset reasons. */
export function classifyUpstreamError(err: Error & { code?: string }): ProxyError {
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

export class TimeoutError extends Error {
  readonly code = 'ERR_UPSTREAM_TIMEOUT';
}

export function attemptUpstream(stream: HttpStream, o: AttemptOptions): Promise<AttemptResult> {
  const { res, req } = stream;
  return new Promise<AttemptResult>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      res.off('close', onDownstreamClose);
      fn();
    };
    const onDownstreamClose = () => {
      if (!res.writableFinished) {
        stream.responseFlags.add('DC');
        controller?.abort(new Error('downstream closed'));
      }
    };
    res.on('close', onDownstreamClose);
    if (o.timeoutMs > 0) {
      timer = setTimeout(
        () => controller?.abort(new TimeoutError('upstream request timeout')),
        o.timeoutMs,
      );
    }
    const hasBody = stream.hasBody;
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
      },
      onResponseStart(c, statusCode, headers: IncomingHttpHeaders) {
        if (statusCode < 200) return; // 1xx: Node answers 100-continue itself
        if (o.shouldRetryStatus(statusCode)) {
          c.abort(new Error('retrying'));
          finish(() => resolve({ kind: 'retry-status', status: statusCode }));
          return;
        }
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(headers))
          if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
        o.decorateHeaders(statusCode, out);
        stream.responseStarted = true;
        res.writeHead(statusCode, out);
      },
      onResponseData(c, chunk) {
        if (!res.write(chunk)) {
          c.pause();
          res.once('drain', () => c.resume());
        }
      },
      onResponseEnd(_c, trailers) {
        const t = Object.entries(trailers ?? {}).filter(([, v]) => v !== undefined) as [
          string,
          string,
        ][];
        if (t.length && res.chunkedEncoding) res.addTrailers(Object.fromEntries(t));
        res.end();
        finish(() => resolve({ kind: 'done', status: res.statusCode }));
      },
      onResponseError(_c, err: Error & { code?: string }) {
        finish(() => {
          if (stream.responseStarted) {
            // Too late for a local reply: reset the downstream, as Envoy resets the stream.
            res.destroy(err);
            resolve({ kind: 'done', status: res.statusCode });
            return;
          }
          if (err instanceof TimeoutError) reject(upstreamTimeout());
          else if (stream.responseFlags.has('DC')) reject(connectionTermination());
          else reject(classifyUpstreamError(err));
        });
      },
    };
    o.dispatcher.dispatch(
      {
        path: o.path,
        method: o.method,
        headers: o.headers,
        body: hasBody ? req : null,
        // Body streams cannot be replayed by undici either.
        idempotent: !hasBody && (o.method === 'GET' || o.method === 'HEAD'),
      },
      handler,
    );
  });
}
