// The HTTP connection manager per request: parse the target, find the route, run the HTTP
// filters, hand over to the router; every failure becomes a local reply in one place.
import { XFCC, stripXfcc, xfccHeader } from '../../../tls/xfcc.js';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpStream } from '../../../http/stream.js';
import { sendLocalReply } from '../../../http/local-reply.js';
import { badRequest, noRoute, ProxyError } from '../../../errors.js';
import type { RequestView } from '../../../routes/matchers.js';
import { redirectLocation } from '../../../routes/route-action.js';
import type { RouteStore } from '../../../routes/route-store.js';
import type { CompiledRoute, RouteTable } from '../../../routes/route-table.js';
import type { ClusterManager } from '../../../upstream/cluster-manager.js';
import { Router } from '../../http/router/filter.js';
import { finalizeRouteResponse } from '../../http/router/headers.js';
import type { HttpFilter, LocalReply } from '../../http/types.js';
import type { HcmConfig } from './config.js';
import { connectView, connectionScheme, fallbackAuthority, requestScheme } from './codec.js';
import { PathRedirect, normalizeRequestPath, parseRequestTarget } from './path.js';
import type { ListenerStats } from '../../../listeners/listener-stats.js';
import { beginHttpLog, emitHttpLog } from '../../../telemetry/access-log/http.js';
import { TRACE_HEADERS } from '../../../telemetry/tracing/propagation.js';
import { NO_SPAN, Tracer } from '../../../telemetry/tracing/tracer.js';
import type { HcmTelemetry } from '../../../telemetry/metrics/hcm-telemetry.js';
import type { ProxyMetrics } from '../../../telemetry/metrics/proxy-metrics.js';

export interface HcmDeps {
  readonly routes: RouteStore;
  readonly clusters: ClusterManager;
  readonly stats: ListenerStats;
  readonly log: (line: string) => void;
  /** Called once per request when it is over: flags and details are final (access logs). */
  readonly onStreamComplete?: (stream: HttpStream) => void;
  /** The listener's traffic_direction (tracing: OUTBOUND spans are CLIENT spans). */
  readonly direction?: string;
  /** Envoy's local_info: node id and cluster (tracing's node_id tag and service name). */
  readonly localNode?: { readonly id: string; readonly cluster: string };
  /** The proxy's Istio metrics: bound when the chain has istio.stats / metadata_exchange. */
  readonly metrics?: ProxyMetrics;
}

export class HttpConnectionManager {
  private readonly router: Router;
  /** For each count of filters that ran: those that adjust responses, in encode (reverse) order. */
  private readonly encoders: (readonly HttpFilter[])[];
  private readonly tracer: Tracer | undefined;
  private readonly istio: HcmTelemetry | undefined;

  constructor(
    readonly config: HcmConfig,
    private readonly deps: HcmDeps,
    private readonly listenerName: string,
  ) {
    this.router = new Router(config.router, deps.clusters, config.serverName);
    this.tracer = config.tracing
      ? new Tracer(config.tracing, {
          direction: deps.direction ?? 'UNSPECIFIED',
          nodeId: deps.localNode?.id ?? '',
          serviceCluster: deps.localNode?.cluster ?? '',
          clusters: deps.clusters,
          log: deps.log,
        })
      : undefined;
    this.istio = deps.metrics?.forHcm(config.filters, deps.direction ?? '', deps.clusters);
    const filters = config.filters.map((f) => f.filter);
    // Filter counters live with the listener, so they outlast this config.
    for (const f of filters) f.stats?.attach(deps.stats.filterCounters);
    this.encoders = filters.map((_, n) =>
      filters
        .slice(0, n + 1)
        .filter((f) => f.onResponseHeaders !== undefined)
        .reverse(),
    );
    this.encoders.unshift([]);
  }

  private routeTable(): RouteTable | undefined {
    const r = this.config.routes;
    return r.kind === 'inline' ? r.table : this.deps.routes.get(r.name);
  }

  private view(req: IncomingMessage): RequestView | ProxyError {
    // CONNECT's authority-form target (RFC 9110 §9.3.6): no path, routed by connect_matcher.
    if (req.method === 'CONNECT') return connectView(req);
    const target = parseRequestTarget(req.url ?? '');
    if (!target) return badRequest('invalid_url');
    if (target.authority !== undefined && !this.config.allowAbsoluteUrl)
      return badRequest('absolute_path_rejected');
    // RFC 9112 §3.2.2: an absolute-form target's authority replaces Host.
    const authority = target.authority ?? req.headers.host ?? fallbackAuthority(req) ?? '';
    if (!authority) return badRequest('missing_host_header');
    // Envoy normalises before anything reads the path (maybeNormalizePath, path.ts).
    const normalized = normalizeRequestPath(target.path, this.config);
    if (normalized.kind === 'reject') return badRequest('path_normalization_failed');
    if (normalized.kind === 'redirect') {
      const grpc = String(req.headers['content-type'] ?? '').startsWith('application/grpc');
      const location = target.query ? `${normalized.path}?${target.query}` : normalized.path;
      return grpc ? badRequest('path_normalization_failed') : new PathRedirect(location);
    }
    const path = normalized.path;
    return {
      method: req.method ?? 'GET',
      scheme: target.scheme ?? requestScheme(req),
      authority,
      path,
      query: target.query,
      headers: req.headers,
    };
  }

  private addedHeaders(req: IncomingMessage): [string, string][] {
    const added: [string, string][] = [];
    if (this.config.generateRequestId && !req.headers['x-request-id'])
      added.push(['x-request-id', randomUUID()]);
    if (!req.headers['x-forwarded-proto']) added.push(['x-forwarded-proto', connectionScheme(req)]);
    // XFCC: the upstream sees only what forward_client_cert_details allows (tls/xfcc.ts).
    const xfcc = req.headers[XFCC];
    const forwarded = xfccHeader(
      this.config.xfcc,
      req.socket,
      xfcc === undefined ? undefined : String(xfcc),
    );
    if (xfcc !== undefined && forwarded !== xfcc) stripXfcc(req);
    if (forwarded !== undefined && forwarded !== xfcc) added.push([XFCC, forwarded]);
    if (this.config.useRemoteAddress) {
      const remote = req.socket.remoteAddress ?? '';
      const prior = req.headers['x-forwarded-for'];
      if (remote) added.push(['x-forwarded-for', prior ? `${String(prior)}, ${remote}` : remote]);
    }
    return added;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const stats = this.deps.stats;
    stats.downstream_rq_total++;
    stats.downstream_rq_active++;
    const view = this.view(req);
    let trace: ReturnType<Tracer['start']>;
    let stream: HttpStream;
    if (view instanceof ProxyError) {
      stream = new HttpStream(req, res, fallbackView(req), [], this.listenerName);
    } else {
      const added = this.addedHeaders(req);
      trace = this.tracer?.start(req, added);
      stream = new HttpStream(req, res, view, added, this.listenerName);
      if (trace) stream.replacedHeaders = TRACE_HEADERS;
    }
    this.istio?.onRequest(stream);
    // One listener per request: stats, and an upstream attempt to cancel if the client left.
    // A response closes once: `on`, not `once`, spares a wrapper per request.
    res.on('close', () => {
      stats.downstream_rq_active--;
      stats.recordStatus(res.statusCode);
      // Unfinished: the client left (DC), unless the proxy reset it after an upstream reset (UC).
      if (!res.writableFinished && !stream.responseFlags.has('UC')) {
        stream.responseFlags.add('DC');
        stream.responseCodeDetails ||= 'downstream_remote_disconnect';
        stream.abortUpstream?.();
      }
      if (trace && trace !== NO_SPAN) trace.finish(stream);
      this.istio?.onComplete(stream);
      this.deps.onStreamComplete?.(stream);
      if (accessLog) emitHttpLog(accessLog, stream);
    });
    const accessLog = this.config.accessLog;
    if (accessLog) beginHttpLog(stream);
    if (view instanceof ProxyError) {
      this.reply(stream, view instanceof PathRedirect ? view.reply(stream) : view);
      return;
    }
    try {
      this.run(stream);
    } catch (e) {
      this.reply(stream, e as Error);
    }
  }

  /**
   * Routes the request and runs its filters, synchronously as long as they answer at once; a
   * filter that returns a promise (an authorization call, a delay) continues the chain when it
   * settles. Throws what a synchronous step throws; later failures become local replies.
   */
  private run(stream: HttpStream): void {
    const table = this.routeTable();
    const match = table?.route(stream.view);
    if (!match) throw noRoute();
    stream.route = match.route;
    stream.virtualHost = match.vhost;
    const action = match.route.action;
    // Envoy resolves the weighted cluster with the route: filters see it (fault upstream_cluster).
    if (action.kind === 'forward') stream.clusterChoice = action.chooseCluster();
    this.runFilters(stream, match.route, 0);
  }

  /** The request filters from `from` on, then the route's action. */
  private runFilters(stream: HttpStream, route: CompiledRoute, from: number): void {
    const filters = this.config.filters;
    for (let i = from; i < filters.length; i++) {
      const f = (filters[i] as (typeof filters)[number]).filter;
      if (!f.onRequest) continue;
      const result = f.onRequest(stream);
      if (result instanceof Promise) {
        result
          .then((reply) => {
            if (reply) this.stopAt(stream, i, route, reply);
            else this.runFilters(stream, route, i + 1);
          })
          .catch((e: unknown) => this.reply(stream, e as Error));
        return;
      }
      if (result) {
        this.stopAt(stream, i, route, result);
        return;
      }
    }
    this.prepareEncode(stream, filters.length, route, true);
    const action = route.action;
    switch (action.kind) {
      case 'direct':
        this.reply(stream, { status: action.status, body: action.body });
        return;
      case 'redirect':
        this.reply(stream, {
          status: action.status,
          body: '',
          headers: { location: redirectLocation(stream.view, action) },
        });
        return;
      case 'forward':
        this.router.forward(stream, action).catch((e: unknown) => this.reply(stream, e as Error));
        return;
    }
  }

  /** Filter `i` answered the request itself: the filters before it encode its reply. */
  private stopAt(stream: HttpStream, i: number, route: CompiledRoute, reply: LocalReply): void {
    this.prepareEncode(stream, i, route, false);
    this.reply(stream, reply);
  }

  /**
   * What adjusts this request's response heads: the route's response header mutations (for
   * what the route answers: upstream responses, the router's and direct replies, as Envoy's
   * router applies them) and then the filters that ran, in reverse order.
   */
  private prepareEncode(
    stream: HttpStream,
    filtersRun: number,
    route: CompiledRoute,
    viaRoute: boolean,
  ): void {
    const encoders = this.encoders[filtersRun] ?? [];
    const routeLevels =
      viaRoute && (route.responseHeaders.length || stream.clusterChoice?.responseHeaders);
    const istio = this.istio;
    if (!routeLevels && encoders.length === 0 && !istio) return;
    stream.finalizeResponseHeaders = (status, headers) => {
      if (routeLevels) finalizeRouteResponse(stream, status, headers);
      for (const f of encoders) f.onResponseHeaders?.(stream, status, headers);
      // Istio's metadata_exchange is the chain's first filter: it encodes last.
      istio?.onResponseHeaders(stream, status, headers);
    };
  }

  private reply(stream: HttpStream, reply: LocalReply | Error): void {
    if (!(reply instanceof ProxyError) && reply instanceof Error)
      this.deps.log(`internal error: ${reply.stack ?? reply.message}`);
    // Drain an unread request body so the connection can be reused.
    if (!stream.req.complete) stream.req.resume();
    sendLocalReply(stream, reply, this.config.serverName);
  }
}

function fallbackView(req: IncomingMessage): RequestView {
  return {
    method: req.method ?? 'GET',
    scheme: 'http',
    authority: '',
    path: '/',
    query: '',
    headers: req.headers,
  };
}
