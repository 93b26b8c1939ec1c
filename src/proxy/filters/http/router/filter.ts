// The router: picks the cluster and host, sends the request upstream (and its mirrors), retries
// as the route's policy allows, and enforces the route's timeouts. Everything it cannot do is a
// ProxyError that the connection manager turns into a local reply.
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { HttpStream } from '../../../http/stream.js';
import type { ProxyError } from '../../../errors.js';
import {
  noCluster,
  noHealthyUpstream,
  upstreamPerTryTimeout,
  upstreamTimeout,
} from '../../../errors.js';
import type { ForwardAction } from '../../../routes/route-action.js';
import type { ClusterManager } from '../../../upstream/cluster-manager.js';
import type { Host } from '../../../upstream/host.js';
import type { Cluster } from '../../../upstream/cluster.js';
import type { RetryPolicy } from '../../../routes/retry-policy.js';
import { FlatHeaderMap } from '../header-map.js';
import type { RouterConfig } from './config.js';
import { buildUpstreamRequest } from './headers.js';
import { sendMirrors } from './mirror.js';
import {
  backoffMs,
  requestRetry,
  retriableError,
  retriableResponse,
  retryExclusions,
  retryPriorities,
} from './retry.js';
import type { AttemptOptions, HeaderLookup } from './upstream-request.js';
import { attemptUpstream } from './upstream-request.js';
import { UpstreamRequestState } from '../../../upstream/request-state.js';

export class Router {
  constructor(
    private readonly config: RouterConfig,
    private readonly clusters: ClusterManager,
    /** Envoy's server_header_transformation OVERWRITE (its default): responses say who served them. */
    private readonly serverName: string,
  ) {}

  /** Forwards the request; resolves when the response is relayed, rejects with a ProxyError. */
  async forward(stream: HttpStream, action: ForwardAction): Promise<void> {
    const choice = stream.clusterChoice ?? action.chooseCluster();
    stream.clusterChoice = choice;
    const clusterName = choice.name;
    stream.clusterName = clusterName;
    const cluster = this.clusters.get(clusterName);
    if (!cluster) throw noCluster(clusterName);
    const upstream = buildUpstreamRequest(stream, action, this.config.suppressEnvoyHeaders);
    // A filter that rewrites the body (grpc_web) adjusts the request it goes with.
    const transform = stream.bodyTransform;
    if (transform?.requestHeaders) transform.requestHeaders(new FlatHeaderMap(upstream.headers));
    const { policy, timeoutMs: timeoutOverride } = requestRetry(
      action.retry,
      stream.view,
      upstream.envoyHeaders,
    );
    const routeTimeoutMs = timeoutOverride ?? action.timeoutMs;
    const method = stream.view.method;
    let body: Readable | undefined =
      transform?.requestBody && stream.hasBody ? transform.requestBody(stream.req) : undefined;
    if (action.mirrors.length) {
      body =
        sendMirrors(
          stream,
          action.mirrors,
          { method, path: upstream.path, headers: upstream.headers, timeoutMs: routeTimeoutMs },
          this.clusters,
          body,
        ) ?? body;
    }
    // A body cannot be replayed: requests with one are tried once.
    const maxAttempts = 1 + (policy && !stream.hasBody ? policy.numRetries : 0);
    const deadline = routeTimeoutMs > 0 ? performance.now() + routeTimeoutMs : Infinity;
    const attempted: Host[] = [];
    // Retry state, made only when a retry happens (a first attempt excludes nothing).
    let excludedPriorities: Set<number> | undefined;
    const stats = cluster.stats;
    // Hash key, circuit breakers and outlier reports across attempts (T1's upstream side).
    const up = new UpstreamRequestState(cluster, stream, action.hashPolicy);
    const request: ForwardRequest = {
      stream,
      method,
      policy,
      maxAttempts,
      up,
      serverName: this.serverName,
      suppressEnvoyHeaders: this.config.suppressEnvoyHeaders,
    };
    let lastError: ProxyError | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let exclude: ReadonlySet<Host> | undefined;
      let priorities: ReadonlySet<number> | undefined;
      if (attempt > 1) {
        exclude = retryExclusions(policy, new Set(attempted));
        excludedPriorities ??= new Set();
        priorities = retryPriorities(cluster.hosts, policy, attempted, excludedPriorities);
      }
      const ctx = up.context(exclude);
      const host = cluster.chooseHost(
        priorities ? { ...ctx, excludedPriorities: priorities } : ctx,
      );
      if (!host) {
        up.end();
        stats.upstream_cx_none_healthy++;
        throw lastError ?? noHealthyUpstream();
      }
      attempted.push(host);
      stream.upstreamHost = host;
      stream.attempts = attempt;
      const remaining = deadline - performance.now();
      if (remaining <= 0) break;
      const perTry = policy?.perTryTimeoutMs ?? 0;
      const perTryBinding = perTry > 0 && perTry < remaining;
      const timeoutMs = perTryBinding ? perTry : Number.isFinite(remaining) ? remaining : 0;
      const headers =
        attempt > 1 && !this.config.suppressEnvoyHeaders
          ? [...upstream.headers, 'x-envoy-attempt-count', String(attempt)]
          : upstream.headers;
      const overflow = up.admit(host);
      if (overflow) throw overflow;
      try {
        const result = await attemptUpstream(
          stream,
          new RouterAttempt(
            request,
            cluster,
            host,
            upstream.path,
            headers,
            timeoutMs,
            body,
            attempt,
          ),
        );
        stats.recordStatus(result.status);
        up.status(host, result.status);
        if (result.kind === 'done') {
          // Relayed in part, then the upstream went away: the downstream was reset.
          if (!stream.res.writableEnded && !stream.responseFlags.has('DC')) {
            stream.responseFlags.add('UC');
            stream.responseCodeDetails =
              'upstream_reset_after_response_started{connection_termination}';
          }
          return;
        }
        stats.upstream_rq_retry++;
      } catch (e) {
        let err = e as ProxyError;
        up.failure(host, err);
        if (err.flag === 'UF') stats.upstream_cx_connect_fail++;
        if (err.flag === 'UT') {
          if (perTryBinding) {
            stats.upstream_rq_per_try_timeout++;
            err = upstreamPerTryTimeout();
          } else {
            stats.upstream_rq_timeout++;
          }
        }
        lastError = err;
        // The client left: nothing to answer, and no upstream failure to record (Envoy: DC).
        if (stream.responseFlags.has('DC')) return;
        if (!policy || !retriableError(policy, err)) throw err;
        if (attempt >= maxAttempts) {
          if (maxAttempts > 1) {
            stream.responseFlags.add('URX');
            stats.upstream_rq_retry_limit_exceeded++;
          }
          throw err;
        }
        if (!up.retry()) throw err;
        stats.upstream_rq_retry++;
      } finally {
        up.attemptEnded();
      }
      if (policy) await delay(backoffMs(policy, attempt));
    }
    up.end();
    if (lastError) throw lastError;
    throw upstreamTimeout();
  }
}

/** What every attempt of one request shares. */
interface ForwardRequest {
  readonly stream: HttpStream;
  readonly method: string;
  readonly policy: RetryPolicy | undefined;
  readonly maxAttempts: number;
  readonly up: UpstreamRequestState;
  readonly serverName: string;
  readonly suppressEnvoyHeaders: boolean;
}

/**
 * One attempt as the router hands it to the upstream request: its options, and the router's
 * say on its response (retry it, or relay it with the router's headers). Its methods live on
 * the prototype: an attempt allocates no closures, and the call sites stay monomorphic.
 */
class RouterAttempt implements AttemptOptions {
  readonly started = performance.now();
  readonly method: string;
  readonly retriesStatus: boolean;

  constructor(
    private readonly request: ForwardRequest,
    readonly cluster: Cluster,
    readonly host: Host,
    readonly path: string,
    readonly headers: string[],
    readonly timeoutMs: number,
    readonly body: Readable | undefined,
    private readonly attempt: number,
  ) {
    this.method = request.method;
    this.retriesStatus = request.policy !== undefined;
  }

  shouldRetryStatus(status: number, header: HeaderLookup): boolean {
    const { policy, maxAttempts, up, stream } = this.request;
    if (!policy || !retriableResponse(policy, status, header)) return false;
    if (this.attempt < maxAttempts) return up.retry();
    // Retriable, but no retries left: relayed as it is, marked as Envoy marks it.
    if (maxAttempts > 1) {
      stream.responseFlags.add('URX');
      this.cluster.stats.upstream_rq_retry_limit_exceeded++;
    }
    return false;
  }

  decorateHeaders(status: number, out: string[]): void {
    const { stream, up } = this.request;
    // Envoy's OVERWRITE: the upstream's own server header gives way to ours.
    for (let i = 0; i < out.length; i += 2) {
      if (out[i]?.length === 6 && out[i]?.toLowerCase() === 'server') {
        out.splice(i, 2);
        break;
      }
    }
    out.push('server', this.request.serverName);
    up.decorate(out);
    if (!this.request.suppressEnvoyHeaders) {
      const ms = Math.round(performance.now() - this.started);
      out.push('x-envoy-upstream-service-time', String(ms));
    }
    stream.responseCodeDetails = 'via_upstream';
    // A view over `out`, holding nothing else: one serves every reader.
    const map = new FlatHeaderMap(out);
    stream.finalizeResponseHeaders?.(status, map);
    stream.responseHeaders = map;
    const transform = stream.bodyTransform;
    if (transform?.responseHeaders) transform.responseHeaders(status, map);
  }
}
