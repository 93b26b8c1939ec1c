// One downstream HTTP request as it crosses the proxy: what routing saw, what was chosen, and
// what happened (flags, upstream host, timings) for access logs and metrics.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResponseFlag } from '../errors.js';
import type { BodyTransform } from './body-transform.js';
import { composeTransforms } from './body-transform.js';
import type { HeaderMap } from '../filters/http/header-map.js';
import type { ClusterChoice } from '../routes/route-action.js';
import type { RequestView } from '../routes/matchers.js';
import type { CompiledRoute, VirtualHost } from '../routes/route-table.js';
import type { Host } from '../upstream/host.js';

/** What jwt_authn proved about the request (Istio's request.auth.* attributes). */
export interface RequestAuth {
  /** `iss/sub` of the verified token. */
  readonly principal: string;
  /** The verified payload. */
  readonly claims: Readonly<Record<string, unknown>>;
  readonly audiences: readonly string[];
  /** The `azp` claim, when present. */
  readonly presenter: string | undefined;
}

export class HttpStream {
  readonly startTime = performance.now();
  readonly startDate = new Date();
  route: CompiledRoute | undefined;
  virtualHost: VirtualHost | undefined;
  clusterName = '';
  /** The (weighted) cluster picked for the route, with its own header mutations. */
  clusterChoice: ClusterChoice | undefined;
  upstreamHost: Host | undefined;
  readonly responseFlags = new Set<ResponseFlag>();
  responseCodeDetails = '';
  attempts = 0;
  /** Set when the first byte of the response head went out. */
  responseStarted = false;
  /** Set by the router while an upstream attempt is in flight: aborts it. */
  abortUpstream: (() => void) | undefined;
  /**
   * Set by the connection manager when something adjusts response heads (route header
   * mutations, CORS): called on every response head, upstream or local, before it is sent.
   */
  finalizeResponseHeaders: ((status: number, headers: HeaderMap) => void) | undefined;
  /**
   * Set by filters that rewrite bodies or trailers (grpc_web), through addBodyTransform: the
   * router applies it to the request body and the response. Undefined for most streams.
   */
  bodyTransform: BodyTransform | undefined;
  /** The response head as sent (upstream or local reply), for %RESP()% in access logs. */
  responseHeaders: HeaderMap | undefined;
  /** Request headers not copied upstream because addedHeaders replace them (trace context). */
  replacedHeaders: ReadonlySet<string> | undefined;
  /** Set by jwt_authn when a token verified; read by rbac (request.auth.*). */
  requestAuth: RequestAuth | undefined;
  /** Istio telemetry's per-request state (hcm-telemetry.ts): a field, cheaper than a WeakMap. */
  telemetryState: object | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly view: RequestView,
    /** Headers to send upstream that the connection manager added (x-request-id, ...). */
    readonly addedHeaders: readonly [string, string][],
    readonly listenerName: string,
  ) {}

  get requestId(): string {
    const added = this.addedHeaders.find(([k]) => k === 'x-request-id');
    return added?.[1] ?? String(this.req.headers['x-request-id'] ?? '');
  }

  /** Request has a body to forward (it cannot be replayed for a retry). */
  get hasBody(): boolean {
    const h = this.req.headers;
    // HTTP/2 needs no length: a body follows unless the HEADERS frame ended the stream.
    if (this.req.httpVersionMajor === 2)
      return !(this.req as unknown as { stream?: { endAfterHeaders?: boolean } }).stream
        ?.endAfterHeaders;
    return (
      h['transfer-encoding'] !== undefined ||
      (h['content-length'] !== undefined && h['content-length'] !== '0')
    );
  }

  /** A filter's body transform; a later filter's wraps an earlier one's. */
  addBodyTransform(t: BodyTransform): void {
    this.bodyTransform = this.bodyTransform ? composeTransforms(this.bodyTransform, t) : t;
  }

  elapsedMs(): number {
    return performance.now() - this.startTime;
  }
}
