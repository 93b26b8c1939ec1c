// The router: picks the cluster and host, sends the request upstream, retries as the route's
// policy allows, and enforces the route's timeouts. Everything it cannot do is a ProxyError
// that the connection manager turns into a local reply.
import { setTimeout as delay } from 'node:timers/promises';
import type { HttpStream } from '../../../http/stream.js';
import type { ProxyError } from '../../../errors.js';
import { noCluster, noHealthyUpstream, upstreamTimeout } from '../../../errors.js';
import type { ForwardAction } from '../../../routes/route-action.js';
import type { ClusterManager } from '../../../upstream/cluster-manager.js';
import type { Host } from '../../../upstream/host.js';
import type { RouterConfig } from './config.js';
import { backoffMs, retriableError, retriableStatus } from './retry.js';
import { attemptUpstream } from './upstream-request.js';

/** Request headers never forwarded (hop-by-hop, RFC 9110 §7.6.1; `host` is set from :authority). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
  'proxy-authorization',
]);

export class Router {
  constructor(
    private readonly config: RouterConfig,
    private readonly clusters: ClusterManager,
    /** Envoy's server_header_transformation OVERWRITE (its default): responses say who served them. */
    private readonly serverName: string,
  ) {}

  private upstreamHeaders(stream: HttpStream, authority: string, attempt: number): string[] {
    const raw = stream.req.rawHeaders;
    const connectionTokens = stream.req.headers['connection'];
    const extra = connectionTokens
      ? new Set(
          connectionTokens
            .toLowerCase()
            .split(',')
            .map((s) => s.trim()),
        )
      : undefined;
    const out: string[] = ['host', authority];
    for (let i = 0; i < raw.length; i += 2) {
      const name = (raw[i] ?? '').toLowerCase();
      if (HOP_BY_HOP.has(name) || extra?.has(name)) continue;
      out.push(name, raw[i + 1] ?? '');
    }
    for (const [k, v] of stream.addedHeaders) out.push(k, v);
    if (!this.config.suppressEnvoyHeaders && attempt > 1)
      out.push('x-envoy-attempt-count', String(attempt));
    return out;
  }

  private upstreamPath(stream: HttpStream, action: ForwardAction): string {
    const { path, query } = stream.view;
    let p = path;
    if (action.rewrite && p.startsWith(action.rewrite.matched)) {
      p = action.rewrite.replacement + p.slice(action.rewrite.matched.length);
      if (!p.startsWith('/')) p = `/${p}`;
    }
    return query ? `${p}?${query}` : p;
  }

  /** Forwards the request; resolves when the response is relayed, rejects with a ProxyError. */
  async forward(stream: HttpStream, action: ForwardAction): Promise<void> {
    const clusterName = action.pickCluster();
    stream.clusterName = clusterName;
    const cluster = this.clusters.get(clusterName);
    if (!cluster) throw noCluster(clusterName);
    const authority = action.hostRewrite ?? stream.view.authority;
    const path = this.upstreamPath(stream, action);
    const policy = action.retry;
    const maxAttempts = 1 + (policy && !stream.hasBody ? policy.numRetries : 0);
    const deadline = action.timeoutMs > 0 ? performance.now() + action.timeoutMs : Infinity;
    const tried = new Set<Host>();
    const stats = cluster.stats;
    let lastError: ProxyError | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const host = cluster.chooseHost({
        authority: stream.view.authority,
        ...(policy?.avoidPreviousHosts ? { exclude: tried } : {}),
      });
      if (!host) {
        stats.upstream_cx_none_healthy++;
        throw lastError ?? noHealthyUpstream();
      }
      tried.add(host);
      stream.upstreamHost = host;
      stream.attempts = attempt;
      const remaining = deadline - performance.now();
      if (remaining <= 0) break;
      const perTry = policy?.perTryTimeoutMs ?? 0;
      const perTryBinding = perTry > 0 && perTry < remaining;
      const timeoutMs = perTryBinding ? perTry : Number.isFinite(remaining) ? remaining : 0;
      const started = performance.now();
      stats.upstream_rq_total++;
      stats.upstream_rq_active++;
      host.activeRequests++;
      host.requestsTotal++;
      try {
        const result = await attemptUpstream(stream, {
          dispatcher: cluster.dispatcher(host),
          method: stream.view.method,
          path,
          headers: this.upstreamHeaders(stream, authority, attempt),
          timeoutMs,
          shouldRetryStatus: (status) =>
            attempt < maxAttempts && policy !== undefined && retriableStatus(policy, status),
          decorateHeaders: (_status, headers) => {
            // Envoy's OVERWRITE: the upstream's own server header gives way to ours.
            for (let i = 0; i < headers.length; i += 2) {
              if (headers[i]?.length === 6 && headers[i]?.toLowerCase() === 'server') {
                headers.splice(i, 2);
                break;
              }
            }
            headers.push('server', this.serverName);
            if (!this.config.suppressEnvoyHeaders) {
              const ms = Math.round(performance.now() - started);
              headers.push('x-envoy-upstream-service-time', String(ms));
            }
          },
        });
        stats.recordStatus(result.status);
        if (result.status >= 500) host.errorsTotal++;
        if (result.kind === 'done') return;
        stats.upstream_rq_retry++;
      } catch (e) {
        const err = e as ProxyError;
        host.errorsTotal++;
        if (err.flag === 'UF') stats.upstream_cx_connect_fail++;
        if (err.flag === 'UT') {
          if (perTryBinding) {
            stats.upstream_rq_per_try_timeout++;
            Object.assign(err, { code: 'ERR_PER_TRY_TIMEOUT' });
          } else {
            stats.upstream_rq_timeout++;
          }
        }
        lastError = err;
        if (
          stream.responseFlags.has('DC') ||
          !policy ||
          attempt >= maxAttempts ||
          !retriableError(policy, err)
        ) {
          if (policy && attempt >= maxAttempts && attempt > 1) stream.responseFlags.add('URX');
          throw err;
        }
        stats.upstream_rq_retry++;
      } finally {
        stats.upstream_rq_active--;
        host.activeRequests--;
      }
      if (policy) await delay(backoffMs(policy, attempt));
    }
    if (lastError) throw lastError;
    if (policy) stats.upstream_rq_retry_limit_exceeded++;
    throw upstreamTimeout();
  }
}
