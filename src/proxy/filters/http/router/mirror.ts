// Request mirroring (RouteAction.request_mirror_policies): for each policy that samples this
// request, a copy goes to the policy's cluster with the authority suffixed `-shadow`, fire and
// forget. The shadow's response is read and dropped; its failures and slowness never touch the
// real request (a shadow that falls behind on the body is abandoned, not waited for).
import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { HttpStream } from '../../../http/stream.js';
import type { MirrorPolicy } from '../../../routes/route-action.js';
import type { ClusterManager } from '../../../upstream/cluster-manager.js';
import { sampled } from '../percent.js';
import { shadowAuthority } from './headers.js';

/** How much request body a shadow may have waiting before it is given up on. */
const SHADOW_BUFFER_LIMIT = 1 << 20;

export interface ShadowRequest {
  readonly method: string;
  readonly path: string;
  /** `host` first (as buildUpstreamRequest makes them). */
  readonly headers: readonly string[];
  /** The route's timeout (0 = none), which Envoy gives shadows too. */
  readonly timeoutMs: number;
}

/**
 * Sends the shadows this request gets. Returns the body stream the real request must read
 * from when there is a body to share (undefined: read the request itself).
 */
export function sendMirrors(
  stream: HttpStream,
  policies: readonly MirrorPolicy[],
  request: ShadowRequest,
  clusters: ClusterManager,
  /** The body as the filters made it (a body transform's), when not the request itself. */
  source: Readable = stream.req,
): Readable | undefined {
  const targets: { policy: MirrorPolicy; dispatch: (body: Readable | null) => void }[] = [];
  for (const policy of policies) {
    if (!sampled(policy.fraction)) continue;
    const cluster = clusters.get(policy.cluster);
    if (!cluster) continue;
    const authority = policy.keepHost
      ? String(request.headers[1])
      : shadowAuthority(String(request.headers[1]));
    const host = cluster.chooseHost({ authority });
    if (!host) continue;
    const headers = [...request.headers];
    headers[1] = authority;
    targets.push({
      policy,
      dispatch: (body) =>
        shadow(cluster.dispatcher(host), { ...request, headers }, body, (status) => {
          cluster.stats.upstream_rq_total++;
          if (status > 0) cluster.stats.recordStatus(status);
        }),
    });
  }
  if (targets.length === 0) return undefined;
  if (!stream.hasBody) {
    for (const t of targets) t.dispatch(null);
    return undefined;
  }
  const { main, copies } = teeBody(source, targets.length);
  targets.forEach((t, i) => t.dispatch(copies[i] ?? null));
  return main;
}

/**
 * Splits the request body: the real request's copy keeps the flow control (the client is
 * slowed down only by it); each shadow copy is written without waiting, and destroyed when it
 * holds more than SHADOW_BUFFER_LIMIT unread.
 */
function teeBody(source: Readable, n: number): { main: PassThrough; copies: PassThrough[] } {
  const main = new PassThrough();
  const copies = Array.from(
    { length: n },
    () => new PassThrough({ highWaterMark: SHADOW_BUFFER_LIMIT }),
  );
  source.on('data', (chunk: Buffer) => {
    for (const c of copies) {
      if (c.destroyed) continue;
      if (c.writableLength > SHADOW_BUFFER_LIMIT) c.destroy();
      else c.write(chunk);
    }
    if (!main.write(chunk)) {
      source.pause();
      main.once('drain', () => source.resume());
    }
  });
  source.once('end', () => {
    main.end();
    for (const c of copies) if (!c.destroyed) c.end();
  });
  source.once('error', (e) => {
    main.destroy(e);
    for (const c of copies) c.destroy();
  });
  return { main, copies };
}

function shadow(
  dispatcher: Dispatcher,
  request: ShadowRequest,
  body: Readable | null,
  done: (status: number) => void,
): void {
  let abort: ((err?: Error) => void) | undefined;
  let status = 0;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    done(status);
  };
  const timer =
    request.timeoutMs > 0
      ? setTimeout(() => abort?.(new Error('shadow timeout')), request.timeoutMs)
      : undefined;
  timer?.unref();
  const handler: Dispatcher.DispatchHandler = {
    onConnect(abortFn) {
      abort = abortFn;
    },
    onHeaders(statusCode) {
      if (statusCode >= 200) status = statusCode;
      return true;
    },
    onData() {
      return true;
    },
    onComplete() {
      finish();
    },
    onError() {
      body?.destroy();
      finish();
    },
  };
  try {
    dispatcher.dispatch(
      {
        path: request.path,
        method: request.method,
        headers: [...request.headers],
        body,
      },
      handler,
    );
  } catch {
    finish();
  }
}
