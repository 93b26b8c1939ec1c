// Tracing per request, as Envoy's connection manager and router do it: decide whether the
// request is sampled (an upstream decision first, then x-envoy-force-trace / x-client-trace-id,
// then random sampling), write the context the next hop continues, and for sampled requests
// record the connection manager's span (CLIENT on an outbound listener, SERVER on an inbound one
// or when the router spawns its own upstream span, as on Istio's gateways) and the router's.
// An unsampled request builds no span object: it passes on the context it came with, or a new
// unsampled one so that every hop after this one agrees.
import type { IncomingMessage } from 'node:http';
import type { HttpStream } from '../../http/stream.js';
import type { ClusterManager } from '../../upstream/cluster-manager.js';
import type { TracingConfig } from './config.js';
import { exporterFor } from './exporter.js';
import type { SpanExporter } from './exporter.js';
import { newSpanId, newTraceId } from './ids.js';
import { extractContext, injectContext } from './propagation.js';
import type { FinishedSpan, SpanKind } from './span.js';
import { nowUs } from './span.js';

export interface TracerDeps {
  /** The listener's traffic_direction: OUTBOUND listeners' spans are CLIENT spans. */
  readonly direction: string;
  /** Envoy's local_info: node id (the node_id tag) and cluster (Zipkin's service name). */
  readonly nodeId: string;
  readonly serviceCluster: string;
  readonly clusters: ClusterManager;
  readonly log: (line: string) => void;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export class Tracer {
  private readonly kind: SpanKind;
  private readonly exporter: SpanExporter | undefined;

  constructor(
    readonly config: TracingConfig,
    private readonly deps: TracerDeps,
  ) {
    this.kind = deps.direction === 'OUTBOUND' && !config.spawnUpstreamSpan ? 'CLIENT' : 'SERVER';
    this.exporter = config.provider
      ? exporterFor(config.provider, deps.clusters, deps.log)
      : undefined;
  }

  /**
   * Envoy's decision: a sampled flag from upstream wins; else a forced trace
   * (x-envoy-force-trace, or x-client-trace-id under client_sampling); else random_sampling;
   * overall_sampling caps what any of them chose.
   */
  sampled(req: IncomingMessage, upstream: boolean | undefined): boolean {
    const c = this.config;
    let sampled: boolean;
    if (upstream !== undefined) sampled = upstream;
    else if (req.headers['x-envoy-force-trace'] !== undefined) sampled = true;
    else if (req.headers['x-client-trace-id'] !== undefined && c.clientSampling > 0)
      sampled = Math.random() * 100 < c.clientSampling;
    else sampled = c.randomSampling > 0 && Math.random() * 100 < c.randomSampling;
    if (sampled && c.overallSampling < 100 && !(Math.random() * 100 < c.overallSampling))
      sampled = false;
    return sampled;
  }

  /**
   * Starts tracing a request: appends the headers for the next hop to `added`. Returns the
   * active trace of a sampled request, NO_SPAN when only headers were added (they replace the
   * request's trace headers), undefined when the request's own headers go on unchanged.
   */
  start(req: IncomingMessage, added: [string, string][]): ActiveTrace | typeof NO_SPAN | undefined {
    const incoming = extractContext(req.headers);
    if (!this.sampled(req, incoming?.sampled)) {
      if (incoming?.traceId) return undefined;
      const traceId = newTraceId();
      injectContext(
        { traceId, spanId: newSpanId(), parentId: undefined, sampled: false },
        incoming?.format === 'b3-single',
        added,
      );
      return NO_SPAN;
    }
    const traceId = incoming?.traceId ?? newTraceId();
    const parentId = incoming?.spanId;
    const spanId = newSpanId();
    const upstreamSpanId = this.config.spawnUpstreamSpan ? newSpanId() : undefined;
    injectContext(
      upstreamSpanId
        ? { traceId, spanId: upstreamSpanId, parentId: spanId, sampled: true }
        : { traceId, spanId, parentId, sampled: true },
      incoming?.format === 'b3-single',
      added,
    );
    return new ActiveTrace(this, traceId, spanId, parentId, upstreamSpanId, incoming?.traceState);
  }

  /** Ends a sampled request's spans and hands them to the exporter. */
  finish(t: ActiveTrace, stream: HttpStream): void {
    const exporter = this.exporter;
    if (!exporter) return;
    const { req, res, view } = stream;
    const durationUs = Math.round((performance.now() - t.startMs) * 1000);
    const status = res.statusCode;
    const error = status >= 500 || !res.headersSent;
    const protocol = `HTTP/${req.httpVersionMajor === 2 ? '2' : req.httpVersion}`;
    // As Envoy's tracer builds http.url: the scheme from x-forwarded-proto, which the client's
    // sidecar set, not from this hop's connection (mTLS between sidecars is not the app's https).
    const forwarded = req.headers['x-forwarded-proto'];
    const scheme = typeof forwarded === 'string' && forwarded ? forwarded : view.scheme;
    const url = `${scheme}://${view.authority}${view.path}${view.query ? `?${view.query}` : ''}`;
    const cluster = stream.clusterName;
    const flags = stream.responseFlags.size ? [...stream.responseFlags].join(',') : '-';
    const tags: Record<string, string> = {
      component: 'proxy',
      node_id: this.deps.nodeId,
      'guid:x-request-id': stream.requestId,
      'http.url': url.slice(0, this.config.maxPathTagLength),
      'http.method': view.method,
      'http.protocol': protocol,
      downstream_cluster: header(req, 'x-envoy-downstream-service-cluster') ?? '-',
      user_agent: header(req, 'user-agent') ?? '-',
      request_size: String(requestSize(stream)),
      response_size: String(responseSize(stream)),
      'peer.address': req.socket?.remoteAddress ?? '',
      'http.status_code': String(status),
      response_flags: flags,
      upstream_cluster: cluster || '-',
      'upstream_cluster.name': cluster || '-',
    };
    const clientTraceId = header(req, 'x-client-trace-id');
    if (clientTraceId) tags['guid:x-client-trace-id'] = clientTraceId;
    if (stream.upstreamHost) tags['upstream_address'] = stream.upstreamHost.key;
    for (const tag of this.config.customTags) {
      tags[tag.tag] =
        tag.kind === 'fixed' ? tag.value : (header(req, tag.header) ?? tag.defaultValue);
    }
    if (error) tags['error'] = 'true';
    const name =
      stream.route?.decorator?.operation ?? `${view.authority}${view.path}`.slice(0, 256);
    const span: FinishedSpan = {
      traceId: t.traceId,
      spanId: t.spanId,
      parentId: t.parentId,
      traceState: t.traceState,
      name,
      kind: this.kind,
      startUs: t.startUs,
      durationUs,
      tags,
      error,
      serviceName: this.deps.serviceCluster,
    };
    exporter.add(span);
    if (t.upstreamSpanId && cluster) {
      // The router's span (Envoy's "router <cluster> egress"), when an upstream was tried.
      const up: Record<string, string> = {
        component: 'proxy',
        'http.url': tags['http.url'] ?? '',
        'http.method': view.method,
        'http.protocol': protocol,
        'http.status_code': String(status),
        upstream_cluster: cluster,
        'upstream_cluster.name': cluster,
        'guid:x-request-id': stream.requestId,
      };
      if (stream.upstreamHost) {
        up['upstream_address'] = stream.upstreamHost.key;
        up['peer.address'] = stream.upstreamHost.key;
      }
      for (const tag of this.config.customTags) {
        if (tag.kind === 'fixed') up[tag.tag] = tag.value;
      }
      if (error) up['error'] = 'true';
      exporter.add({
        ...span,
        spanId: t.upstreamSpanId,
        parentId: t.spanId,
        name: `router ${cluster} egress`,
        kind: 'CLIENT',
        tags: up,
      });
    }
  }
}

/** A request that carries new trace headers but is not sampled (no span to finish). */
export const NO_SPAN = Symbol('no span');

export class ActiveTrace {
  readonly startMs = performance.now();
  readonly startUs = nowUs();

  constructor(
    private readonly tracer: Tracer,
    readonly traceId: string,
    readonly spanId: string,
    readonly parentId: string | undefined,
    readonly upstreamSpanId: string | undefined,
    readonly traceState: string | undefined,
  ) {}

  finish(stream: HttpStream): void {
    this.tracer.finish(this, stream);
  }
}

function contentLength(v: unknown): number {
  const n = Number(Array.isArray(v) ? v[0] : v);
  return Number.isFinite(n) && n >= 0 ? n : 0;
}

/** Body bytes received: the stream's count when something keeps one, else Content-Length. */
function requestSize(stream: HttpStream): number {
  const counted = (stream as unknown as { bytesReceived?: number }).bytesReceived;
  return typeof counted === 'number'
    ? counted
    : contentLength(stream.req.headers['content-length']);
}

function responseSize(stream: HttpStream): number {
  const counted = (stream as unknown as { bytesSent?: number }).bytesSent;
  return typeof counted === 'number'
    ? counted
    : contentLength(stream.res.getHeader('content-length'));
}
