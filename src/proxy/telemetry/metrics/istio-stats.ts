// Istio's standard metrics (istio/proxy istio_stats.cc), recorded per finished request or
// connection: the labels of each series are built from the proxy's own metadata, the peer's
// (exchanged over HTTP, or the endpoint's metadata), the cluster's service metadata, and what
// happened (protocol, code, flags). Label sets are cached per (peer, service) and then per
// outcome, so a request costs a few map lookups and adds, not a label string.
import type { HttpStream } from '../../http/stream.js';
import type { TcpSession } from '../../filters/network/tcp_proxy/session.js';
import type { Cluster } from '../../upstream/cluster.js';
import type { Host } from '../../upstream/host.js';
import type { ExpressionInput } from './expression.js';
import type { PeerInfo } from './peer.js';
import { peerFromEndpointMetadata } from './peer.js';
import type { MetricPlan, StandardMetric, StatsPluginConfig } from './plugin-config.js';
import { STANDARD_METRICS } from './plugin-config.js';
import type { CounterFamily, CounterSeries, HistogramFamily, HistogramSeries } from './registry.js';
import { Registry, renderLabels } from './registry.js';

type Obj = Record<string, unknown>;
const UNKNOWN = 'unknown';
const PASSTHROUGH = new Set([
  'BlackHoleCluster',
  'PassthroughCluster',
  'InboundPassthroughCluster',
  'InboundPassthroughClusterIpv4',
  'InboundPassthroughClusterIpv6',
]);

export type Reporter = 'source' | 'destination';

/** Every standard family of one proxy. */
export class IstioFamilies {
  readonly requests: CounterFamily;
  readonly duration: HistogramFamily;
  readonly requestBytes: HistogramFamily;
  readonly responseBytes: HistogramFamily;
  readonly tcpOpened: CounterFamily;
  readonly tcpClosed: CounterFamily;
  readonly tcpSent: CounterFamily;
  readonly tcpReceived: CounterFamily;

  constructor(registry: Registry) {
    this.requests = registry.counter('istio_requests_total', 'Requests handled by the proxy.');
    this.duration = registry.histogram(
      'istio_request_duration_milliseconds',
      'Request duration in milliseconds.',
    );
    this.requestBytes = registry.histogram('istio_request_bytes', 'Request size in bytes.');
    this.responseBytes = registry.histogram('istio_response_bytes', 'Response size in bytes.');
    this.tcpOpened = registry.counter(
      'istio_tcp_connections_opened_total',
      'TCP connections opened.',
    );
    this.tcpClosed = registry.counter(
      'istio_tcp_connections_closed_total',
      'TCP connections closed.',
    );
    this.tcpSent = registry.counter(
      'istio_tcp_sent_bytes_total',
      'Bytes sent to the downstream on TCP connections.',
    );
    this.tcpReceived = registry.counter(
      'istio_tcp_received_bytes_total',
      'Bytes received from the downstream on TCP connections.',
    );
  }

  static create(): { registry: Registry; families: IstioFamilies } {
    const registry = new Registry();
    return { registry, families: new IstioFamilies(registry) };
  }
}

/** What one finished request or connection contributes, besides its peer and service. */
export interface Outcome {
  readonly protocol: 'http' | 'grpc' | 'tcp';
  readonly responseCode: string;
  readonly grpcStatus: string;
  readonly flags: string;
  readonly expressionInput: ExpressionInput | undefined;
}

/** The cluster's service (Istio's `istio.services[0]` cluster metadata), cached per cluster. */
interface ServiceOfCluster {
  readonly host: string;
  readonly name: string;
}

const serviceCache = new WeakMap<Readonly<Obj>, ServiceOfCluster | null>();

function serviceOf(cluster: Cluster | undefined): ServiceOfCluster | undefined {
  if (!cluster) return undefined;
  const meta = cluster.config.metadata;
  let s = serviceCache.get(meta);
  if (s === undefined) {
    const istio = ((meta['filter_metadata'] as Obj | undefined)?.['istio'] ?? {}) as Obj;
    const first = (istio['services'] as Obj[] | undefined)?.[0];
    const host = typeof first?.['host'] === 'string' ? first['host'] : '';
    s = host
      ? {
          host,
          name: typeof first?.['name'] === 'string' ? first['name'] : (host.split('.')[0] ?? ''),
        }
      : null;
    serviceCache.set(meta, s);
  }
  return s ?? undefined;
}

const endpointPeers = new WeakMap<Host, PeerInfo | null>();

/** The upstream host's `istio.workload` metadata as a peer (Istio's client-side fallback). */
export function endpointPeer(host: Host | undefined): PeerInfo | undefined {
  if (!host) return undefined;
  let p = endpointPeers.get(host);
  if (p === undefined) {
    const istio = ((host.spec.metadata['filter_metadata'] as Obj | undefined)?.['istio'] ??
      {}) as Obj;
    const w = istio['workload'];
    p = (typeof w === 'string' ? peerFromEndpointMetadata(w) : undefined) ?? null;
    endpointPeers.set(host, p);
  }
  return p ?? undefined;
}

/** The series one label set records into, per standard metric (undefined: dropped). */
interface SeriesSet {
  readonly requests?: CounterSeries;
  readonly duration?: HistogramSeries;
  readonly requestBytes?: HistogramSeries;
  readonly responseBytes?: HistogramSeries;
  readonly tcpOpened?: CounterSeries;
  readonly tcpClosed?: CounterSeries;
  readonly tcpSent?: CounterSeries;
  readonly tcpReceived?: CounterSeries;
}

/**
 * The connection's mTLS facts (Istio's connection_security_policy and principals): full SPIFFE
 * URIs, '' when unknown.
 */
export interface ConnectionSecurity {
  readonly mtls: boolean;
  readonly sourcePrincipal: string;
  readonly destinationPrincipal: string;
}

/** The source_* and destination_* labels of one (peer, service) pair, with its outcomes. */
interface PeerPart {
  readonly values: string[];
  /** connection_security_policy. */
  readonly csp: string;
  readonly outcomes: Map<string, SeriesSet>;
}

const v = (s: string | undefined, fallback = UNKNOWN) => (s ? s : fallback);

/**
 * One filter chain's recorder (an `istio.stats` filter instance in Envoy's terms): its reporter,
 * its plans, and its caches. Built per config; the series live in the proxy's families.
 */
export class StatsRecorder {
  readonly reporter: Reporter;
  private readonly parts = new Map<PeerInfo | undefined, Map<string, PeerPart>>();
  private readonly hasExpressions: boolean;
  /** recordHttp's last hits (see there). */
  private lastHttp:
    | {
        readonly peer: PeerInfo | undefined;
        readonly authority: string;
        readonly cluster: Cluster | undefined;
        readonly clusterName: string;
        readonly mtls: boolean | undefined;
        readonly sourcePrincipal: string | undefined;
        readonly destinationPrincipal: string | undefined;
        readonly part: PeerPart;
      }
    | undefined;
  private lastSeries:
    | {
        readonly part: PeerPart;
        readonly protocol: string;
        readonly responseCode: string;
        readonly grpcStatus: string;
        readonly flags: string;
        readonly set: SeriesSet;
      }
    | undefined;

  constructor(
    readonly config: StatsPluginConfig,
    private readonly families: IstioFamilies,
    private readonly local: PeerInfo,
    direction: string,
  ) {
    // Istio: INBOUND listeners report as destination; OUTBOUND (and gateways') as source.
    this.reporter = direction === 'INBOUND' ? 'destination' : 'source';
    this.hasExpressions = config.expressions.length > 0;
  }

  /** Istio's populatePeerInfo: labels 1..19, by reporter. */
  private peerPart(
    peer: PeerInfo | undefined,
    host: string,
    hostName: string,
    sec?: ConnectionSecurity,
  ): PeerPart {
    let byService = this.parts.get(peer);
    if (!byService) {
      byService = new Map();
      this.parts.set(peer, byService);
    }
    const key = sec
      ? `${host}\u0000${hostName}\u0000${sec.sourcePrincipal}\u0000${sec.destinationPrincipal}`
      : `${host}\u0000${hostName}`;
    let part = byService.get(key);
    if (part) return part;
    const l = this.local;
    let values: string[];
    if (this.reporter === 'destination') {
      values = [
        v(peer?.workloadName),
        v(peer?.canonicalName),
        v(peer?.canonicalRevision, 'latest'),
        v(peer?.namespace),
        v(sec?.sourcePrincipal), // source_principal: the mTLS peer's URI SAN
        v(peer?.app),
        v(peer?.version),
        v(peer?.clusterId),
        l.workloadName,
        l.namespace,
        v(sec?.destinationPrincipal), // destination_principal: our own certificate's
        l.app,
        l.version,
        host || l.canonicalName,
        l.canonicalName,
        l.canonicalRevision,
        hostName || l.canonicalName,
        l.namespace,
        l.clusterId,
      ];
    } else {
      values = [
        l.workloadName,
        l.canonicalName,
        l.canonicalRevision,
        l.namespace,
        v(sec?.sourcePrincipal),
        l.app,
        l.version,
        l.clusterId,
        v(peer?.workloadName),
        v(peer?.namespace),
        v(sec?.destinationPrincipal),
        v(peer?.app),
        v(peer?.version),
        v(host),
        v(peer?.canonicalName),
        v(peer?.canonicalRevision, 'latest'),
        v(hostName),
        v(peer?.namespace),
        v(peer?.clusterId),
      ];
    }
    // Istio: the destination reports mutual_tls or none; the source always unknown.
    const csp = this.reporter === 'destination' ? (sec?.mtls ? 'mutual_tls' : 'none') : UNKNOWN;
    part = { values, csp, outcomes: new Map() };
    // The caches are bounded by what the mesh has: peers and services, not requests.
    byService.set(key, part);
    return part;
  }

  private series(part: PeerPart, o: Outcome): SeriesSet {
    const exprValues = this.hasExpressions && o.expressionInput ? this.evaluate(o) : undefined;
    const key = `${o.protocol}|${o.responseCode}|${o.grpcStatus}|${o.flags}${
      exprValues ? `|${exprValues.join('\u0000')}` : ''
    }`;
    let set = part.outcomes.get(key);
    if (set) return set;
    const csp = part.csp;
    const base = [
      this.reporter,
      ...part.values,
      o.protocol,
      o.responseCode,
      o.grpcStatus,
      o.flags,
      csp,
    ];
    const labels = (m: StandardMetric): string | undefined => {
      const plan = this.config.plans[m];
      return plan.dropped ? undefined : render(plan, base, exprValues ?? []);
    };
    const f = this.families;
    const get = <S>(fam: { get(l: string): S }, m: StandardMetric): S | undefined => {
      const l = labels(m);
      return l === undefined ? undefined : fam.get(l);
    };
    set =
      o.protocol === 'tcp'
        ? {
            tcpOpened: get(f.tcpOpened, 'tcp_connections_opened_total'),
            tcpClosed: get(f.tcpClosed, 'tcp_connections_closed_total'),
            tcpSent: get(f.tcpSent, 'tcp_sent_bytes_total'),
            tcpReceived: get(f.tcpReceived, 'tcp_received_bytes_total'),
          }
        : {
            requests: get(f.requests, 'requests_total'),
            duration: get(f.duration, 'request_duration_milliseconds'),
            requestBytes: get(f.requestBytes, 'request_bytes'),
            responseBytes: get(f.responseBytes, 'response_bytes'),
          };
    part.outcomes.set(key, set);
    return set;
  }

  private evaluate(o: Outcome): string[] {
    const input = o.expressionInput as ExpressionInput;
    return this.config.expressions.map((e) => {
      try {
        return e(input) ?? UNKNOWN;
      } catch {
        return UNKNOWN;
      }
    });
  }

  /** Destination service host and name: Host header, then the cluster's service metadata. */
  private service(authority: string, cluster: Cluster | undefined, clusterName: string) {
    let host = this.config.disableHostHeaderFallback ? '' : authority;
    let name = host;
    if (PASSTHROUGH.has(clusterName)) name = clusterName;
    else {
      const s = serviceOf(cluster);
      if (s) {
        host = s.host;
        name = s.name;
      }
    }
    return { host, name };
  }

  recordHttp(
    r: {
      readonly peer: PeerInfo | undefined;
      readonly authority: string;
      readonly cluster: Cluster | undefined;
      readonly clusterName: string;
      readonly durationMs: number;
      readonly requestBytes: number;
      readonly responseBytes: number;
      readonly security?: ConnectionSecurity | undefined;
    },
    o: Outcome,
  ): void {
    // Consecutive requests mostly share peer, service, security and outcome: the last hit is
    // compared first, so the common request builds no cache key (no string per request).
    const c = this.lastHttp;
    const sec = r.security;
    let part: PeerPart;
    if (
      c &&
      c.peer === r.peer &&
      c.authority === r.authority &&
      c.cluster === r.cluster &&
      c.clusterName === r.clusterName &&
      c.mtls === sec?.mtls &&
      c.sourcePrincipal === sec?.sourcePrincipal &&
      c.destinationPrincipal === sec?.destinationPrincipal
    ) {
      part = c.part;
    } else {
      const { host, name } = this.service(r.authority, r.cluster, r.clusterName);
      part = this.peerPart(r.peer, host, name, sec);
      this.lastHttp = {
        peer: r.peer,
        authority: r.authority,
        cluster: r.cluster,
        clusterName: r.clusterName,
        mtls: sec?.mtls,
        sourcePrincipal: sec?.sourcePrincipal,
        destinationPrincipal: sec?.destinationPrincipal,
        part,
      };
    }
    let s: SeriesSet;
    const l = this.lastSeries;
    if (
      l &&
      !this.hasExpressions &&
      l.part === part &&
      l.protocol === o.protocol &&
      l.responseCode === o.responseCode &&
      l.grpcStatus === o.grpcStatus &&
      l.flags === o.flags
    ) {
      s = l.set;
    } else {
      s = this.series(part, o);
      this.lastSeries = {
        part,
        protocol: o.protocol,
        responseCode: o.responseCode,
        grpcStatus: o.grpcStatus,
        flags: o.flags,
        set: s,
      };
    }
    s.requests?.inc();
    s.duration?.observe(r.durationMs);
    s.requestBytes?.observe(r.requestBytes);
    s.responseBytes?.observe(r.responseBytes);
  }

  /** A closed connection: opened and closed at once (no TCP metadata exchange: Istio too). */
  recordTcp(
    r: {
      readonly peer: PeerInfo | undefined;
      readonly cluster: Cluster | undefined;
      readonly clusterName: string;
      readonly sent: number;
      readonly received: number;
    },
    o: Outcome,
  ): void {
    const { host, name } = this.service('', r.cluster, r.clusterName);
    const s = this.series(this.peerPart(r.peer, host, name), o);
    s.tcpOpened?.inc();
    s.tcpSent?.inc(r.sent);
    s.tcpReceived?.inc(r.received);
    s.tcpClosed?.inc();
  }
}

function render(plan: MetricPlan, base: readonly string[], exprs: readonly string[]): string {
  if (plan.standard) return renderLabels(plan.names, base);
  const values = plan.sources.map((src) =>
    'tag' in src ? (base[src.tag] ?? '') : (exprs[src.expr] ?? UNKNOWN),
  );
  return renderLabels(plan.names, values);
}

/** Envoy's short response flags string: the set joined by commas, `-` when empty. */
export function flagsString(flags: ReadonlySet<string>): string {
  if (flags.size === 0) return '-';
  if (flags.size === 1) return flags.values().next().value as string;
  return [...flags].join(',');
}

export type { HttpStream, TcpSession };
export { STANDARD_METRICS };
