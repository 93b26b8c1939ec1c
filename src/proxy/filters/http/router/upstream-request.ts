// One attempt of a request to one upstream host. Resolves once the response is fully relayed;
// rejects with a ProxyError when it failed before any byte of the response went downstream (so
// that the router may retry or answer locally). Picks the way there: a tunnel for upgrades and
// CONNECT, HTTP/2 when the cluster's protocol options say so (or say "as the downstream" to an
// HTTP/2 client), else HTTP/1.1 over the cluster's undici pool.
import type { Dispatcher } from 'undici';
import type { HttpStream } from '../../../http/stream.js';
import { connectFailure, connectionTermination, upstreamTimeout } from '../../../errors.js';
import { upgradeOf } from '../../network/http_connection_manager/upgrade.js';
import type { AttemptOptions, AttemptResult } from './upstream-request-common.js';
import {
  HOP_BY_HOP,
  TimeoutError,
  classifyUpstreamError,
  endStreamResponse,
  isHttp2Downstream,
  markResetAfterStart,
} from './upstream-request-common.js';
import { attemptHttp2 } from './upstream-request-h2.js';
import { attemptUpgrade } from './upstream-request-upgrade.js';

export type { AttemptOptions, AttemptResult, HeaderLookup } from './upstream-request-common.js';
export { TimeoutError, classifyUpstreamError } from './upstream-request-common.js';

export function attemptUpstream(stream: HttpStream, o: AttemptOptions): Promise<AttemptResult> {
  const upgrade = upgradeOf(stream.req);
  if (upgrade) return attemptUpgrade(stream, upgrade, o);
  if (o.host.spec.internal)
    return Promise.reject(connectFailure('an internal listener takes only CONNECT tunnels'));
  const protocol = o.cluster.config.http.upstreamProtocol;
  if (protocol === 'http2' || (protocol === 'downstream' && isHttp2Downstream(stream)))
    return attemptHttp2(stream, o);
  return attemptHttp1(stream, o.cluster.dispatcher(o.host), o);
}

const UNUSED_SERVERNAME = 'unused.invalid';

/**
 * A header value as a string. A long value that repeats response after response (the peer's
 * `x-envoy-peer-metadata`, some 500 bytes on every response of a mesh peer) is converted once:
 * equal bytes get the same string back, which also keeps the peer lookup keyed by it cheap.
 */
function headerText(bytes: Buffer): string {
  if (bytes.length < LONG_HEADER) return bytes.toString('latin1');
  if (lastLong && bytes.equals(lastLong.bytes)) return lastLong.text;
  // undici's bytes are a view of the socket's read buffer: keep a copy of its own.
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  lastLong = { bytes: copy, text: bytes.toString('latin1') };
  return lastLong.text;
}
const LONG_HEADER = 128;
let lastLong: { bytes: Buffer; text: string } | undefined;

/** A header of undici's flat raw list, found by (lower-case) name. */
function rawLookup(raw: Buffer[]): (name: string) => string | undefined {
  return (name) => {
    for (let i = 0; i < raw.length; i += 2) {
      const n = raw[i] as Buffer;
      if (n.length === name.length && n.toString('latin1').toLowerCase() === name)
        return (raw[i + 1] as Buffer).toString('latin1');
    }
    return undefined;
  };
}

/**
 * Response headers the HTTP/1.1 attempt never copies: the hop-by-hop ones, and `server`, which
 * the router overwrites with its own (decorateHeaders).
 */
const NOT_RELAYED: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'server']);

/**
 * HTTP/1.1 through undici's raw handler interface: headers arrive as a flat list of Buffers and
 * go out as a flat list of strings, with no object built in between (about 15% of a sidecar's
 * CPU, measured). One object per attempt is the handler itself: its methods live on the
 * prototype, so an attempt's only closures are the promise's executor and the abort hook the
 * connection manager calls.
 */
function attemptHttp1(
  stream: HttpStream,
  dispatcher: Dispatcher,
  o: AttemptOptions,
): Promise<AttemptResult> {
  return new Promise<AttemptResult>((resolve, reject) => {
    const attempt = new Http1Attempt(stream, o, resolve, reject);
    const hasBody = stream.hasBody;
    const opts: Dispatcher.DispatchOptions & { servername: string } = {
      path: o.path,
      method: o.method,
      headers: o.headers,
      body: o.body ?? (hasBody ? stream.req : null),
      // Else undici derives a TLS server name from the host header for every request (an IP
      // check, two regexes); its origins here are http: (TLS, if any, is the connector's, with
      // its own SNI), where that name is never used.
      servername: UNUSED_SERVERNAME,
      // Body streams cannot be replayed by undici either.
      idempotent: !hasBody && (o.method === 'GET' || o.method === 'HEAD'),
    };
    dispatcher.dispatch(opts, attempt);
  });
}

function onAttemptTimeout(attempt: Http1Attempt): void {
  attempt.timedOut();
}

class Http1Attempt implements Dispatcher.DispatchHandler {
  private abort: ((err?: Error) => void) | undefined;
  private settled = false;
  private timer: NodeJS.Timeout | undefined;
  private resumeUpstream: (() => void) | undefined;

  constructor(
    private readonly stream: HttpStream,
    private readonly o: AttemptOptions,
    private readonly resolve: (r: AttemptResult) => void,
    private readonly reject: (e: Error) => void,
  ) {
    // The connection manager calls this when the downstream goes away mid-request.
    stream.abortUpstream = () => this.abort?.(new Error('downstream closed'));
    if (o.timeoutMs > 0) this.timer = setTimeout(onAttemptTimeout, o.timeoutMs, this);
  }

  timedOut(): void {
    this.abort?.(new TimeoutError('upstream request timeout'));
  }

  /** Settles once: the first outcome wins. */
  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    this.stream.abortUpstream = undefined;
    return true;
  }

  onConnect(abortFn: (err?: Error) => void): void {
    this.abort = abortFn;
    if (this.stream.responseFlags.has('DC')) abortFn(new Error('downstream closed'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx: Node answers 100-continue itself
    const raw = rawHeaders as Buffer[];
    const { o, stream } = this;
    if (o.retriesStatus && o.shouldRetryStatus(statusCode, rawLookup(raw))) {
      if (this.settle()) this.resolve({ kind: 'retry-status', status: statusCode });
      this.abort?.(new Error('retrying'));
      return false;
    }
    this.resumeUpstream = resume;
    const out: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = (raw[i] as Buffer).toString('latin1');
      if (NOT_RELAYED.has(name.toLowerCase())) continue;
      out.push(name, headerText(raw[i + 1] as Buffer));
    }
    o.decorateHeaders(statusCode, out);
    stream.responseStarted = true;
    stream.res.writeHead(statusCode, out);
    return true;
  }

  onData(chunk: Buffer): boolean {
    // A filter's body transform (grpc_web) may rewrite or hold back the bytes.
    const transform = this.stream.bodyTransform;
    const out = transform?.responseData ? transform.responseData(chunk) : chunk;
    const res = this.stream.res;
    if (out.length === 0 || res.write(out)) return true;
    res.once('drain', () => this.resumeUpstream?.());
    return false;
  }

  onComplete(trailers: string[] | null): void {
    const raw = (trailers ?? []) as (Buffer | string)[];
    let t: Record<string, string> | undefined;
    if (raw.length) {
      t = {};
      for (let i = 0; i < raw.length; i += 2) t[String(raw[i]).toLowerCase()] = String(raw[i + 1]);
    }
    const stream = this.stream;
    endStreamResponse(stream, t);
    if (this.settle()) this.resolve({ kind: 'done', status: stream.res.statusCode });
  }

  onError(err: Error & { code?: string }): void {
    if (!this.settle()) return;
    const stream = this.stream;
    if (stream.responseStarted) {
      // Too late for a local reply: reset the downstream, as Envoy resets the stream.
      markResetAfterStart(stream);
      stream.res.destroy(err);
      this.resolve({ kind: 'done', status: stream.res.statusCode });
      return;
    }
    if (err instanceof TimeoutError) this.reject(upstreamTimeout());
    else if (stream.responseFlags.has('DC')) this.reject(connectionTermination());
    else this.reject(classifyUpstreamError(err));
  }
}
