// One attempt over HTTP/2 (gRPC and http2 ports): a stream on the host's multiplexed session.
// Trailers are kept both ways, a trailers-only response stays one, and a stream reset maps onto
// Envoy's reset reasons (REFUSED_STREAM is retriable as refused-stream).
import http2 from 'node:http2';
import type { IncomingHttpHeaders } from 'node:http2';
import type { HttpStream } from '../../../http/stream.js';
import {
  ProxyError,
  connectionTermination,
  refusedStream,
  remoteReset,
  upstreamTimeout,
} from '../../../errors.js';
import type { AttemptOptions, AttemptResult } from './upstream-request-common.js';
import {
  HOP_BY_HOP,
  endStreamResponse,
  markResetAfterStart,
  writeResponseHead,
} from './upstream-request-common.js';

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_FLAG_END_STREAM } = http2.constants;

/** Request headers HTTP/2 forbids (RFC 9113 §8.2.2), besides `host` (→ `:authority`). */
const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set(
  [...HOP_BY_HOP, 'host'].filter((h) => h !== 'trailer'),
);

/** The flat upstream header list as an HTTP/2 header block. */
export function toHttp2Request(
  o: Pick<AttemptOptions, 'method' | 'path' | 'headers'>,
  downstreamTe: string | string[] | undefined,
): http2.OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {
    ':method': o.method,
    ':scheme': 'http',
    ':path': o.path,
    ':authority': o.headers[1] ?? '',
  };
  const h = o.headers;
  let te = Array.isArray(downstreamTe) ? downstreamTe.join(',') : (downstreamTe ?? '');
  for (let i = 2; i < h.length; i += 2) {
    const name = (h[i] ?? '').toLowerCase();
    if (CONNECTION_SPECIFIC.has(name) || name.startsWith(':')) {
      // A filter may ask for `te: trailers` (grpc_web, for a gRPC upstream).
      if (name === 'te') te += `,${h[i + 1] ?? ''}`;
      continue;
    }
    const value = h[i + 1] ?? '';
    const prior = out[name];
    out[name] =
      prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  // `te: trailers` is the one TE HTTP/2 allows, and gRPC servers expect it.
  if (/(^|,)\s*trailers\s*(,|$)/i.test(te)) out['te'] = 'trailers';
  return out;
}

function responseHeaders(headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':') || HOP_BY_HOP.has(name)) continue;
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, String(value));
  }
  return out;
}

export function attemptHttp2(stream: HttpStream, o: AttemptOptions): Promise<AttemptResult> {
  const { res, req } = stream;
  const transform = stream.bodyTransform;
  return new Promise<AttemptResult>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let upstream: http2.ClientHttp2Stream | undefined;
    let trailers: IncomingHttpHeaders | undefined;
    // Counted against the cluster's circuit breakers while the stream is open (T1).
    let counted = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      if (counted) o.cluster.streamEnded(o.host);
      if (timer) clearTimeout(timer);
      stream.abortUpstream = undefined;
      fn();
    };
    const fail = (err: ProxyError) => {
      upstream?.close(NGHTTP2_CANCEL);
      finish(() => {
        if (stream.responseStarted) {
          // Too late for a local reply: reset the downstream stream, as Envoy does.
          markResetAfterStart(stream);
          res.destroy();
          resolve({ kind: 'done', status: res.statusCode });
        } else {
          reject(err);
        }
      });
    };
    stream.abortUpstream = () => fail(connectionTermination());
    if (o.timeoutMs > 0) timer = setTimeout(() => fail(upstreamTimeout()), o.timeoutMs);
    o.cluster.h2.session(o.host).then(
      (session) => {
        if (settled) return;
        const overflow = o.cluster.streamStarted(o.host);
        if (overflow) return fail(overflow);
        counted = true;
        const body = o.body ?? (stream.hasBody ? req : undefined);
        let s: http2.ClientHttp2Stream;
        try {
          s = session.request(toHttp2Request(o, req.headers.te), {
            endStream: !body,
            waitForTrailers: body !== undefined,
          });
        } catch {
          // The session went away between the pool's check and now (GOAWAY): retriable.
          fail(refusedStream());
          return;
        }
        upstream = s;
        if (body) {
          // Request trailers (gRPC clients do not send them, others may) follow the body.
          s.once('wantTrailers', () => {
            const t: Record<string, string | string[]> = {};
            for (const [k, v] of Object.entries(req.trailers ?? {}))
              if (v !== undefined && !k.startsWith(':')) t[k] = v;
            s.sendTrailers(t);
          });
          body.pipe(s);
          // A body a filter rewrites may fail (malformed): answered as the filter says.
          if (body !== req) {
            const failed = (e: unknown) =>
              fail(e instanceof ProxyError ? e : connectionTermination());
            if (body.errored) failed(body.errored);
            else body.once('error', failed);
          }
        }
        s.on('response', (headers, flags) => {
          if (settled) return;
          const status = Number(headers[':status']);
          const lookup = (name: string) => {
            const v = headers[name];
            return v === undefined ? undefined : Array.isArray(v) ? v.join(',') : String(v);
          };
          if (o.shouldRetryStatus(status, lookup)) {
            s.close(NGHTTP2_CANCEL);
            finish(() => resolve({ kind: 'retry-status', status }));
            return;
          }
          const out = responseHeaders(headers);
          o.decorateHeaders(status, out);
          const endStream = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
          writeResponseHead(stream, status, out, endStream);
          if (endStream) finish(() => resolve({ kind: 'done', status }));
        });
        s.on('data', (chunk: Buffer) => {
          // A filter's body transform (grpc_web) may rewrite or hold back the bytes.
          const out = transform?.responseData ? transform.responseData(chunk) : chunk;
          if (out.length && !res.write(out)) {
            s.pause();
            res.once('drain', () => s.resume());
          }
        });
        s.on('trailers', (t) => {
          trailers = t;
        });
        s.on('end', () => {
          if (settled || !stream.responseStarted) return;
          endStreamResponse(stream, trailers);
          finish(() => resolve({ kind: 'done', status: res.statusCode }));
        });
        s.on('error', () => undefined);
        s.on('close', () => {
          if (settled) return;
          fail(s.rstCode === NGHTTP2_REFUSED_STREAM ? refusedStream() : remoteReset());
        });
      },
      (err: ProxyError) => fail(err),
    );
  });
}
