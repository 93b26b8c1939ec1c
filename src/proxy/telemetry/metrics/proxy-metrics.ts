// One proxy's metrics (the registry DESIGN asks for, one per proxy): Istio's standard families,
// the proxy's own peer metadata, and the recorders connection managers and tcp_proxy chains
// bind when a config comes in. Renders /stats/prometheus: Istio's metrics, then Envoy's stats.
import type { TcpSession } from '../../filters/network/tcp_proxy/session.js';
import type { HttpFilterFactory } from '../../filters/http/types.js';
import type { ClusterManager } from '../../upstream/cluster-manager.js';
import { renderEnvoyStats } from './envoy-stats.js';
import type { ListenerView, XdsStatScope } from './envoy-stats.js';
import { IstioStatsFilter, PeerMetadataFilter } from './filters.js';
import { HcmTelemetry } from './hcm-telemetry.js';
import type { PeerSource } from './hcm-telemetry.js';
import { IstioFamilies, StatsRecorder, endpointPeer, flagsString } from './istio-stats.js';
import type { LocalNode, PeerInfo } from './peer.js';
import { decodePeerHeader, encodePeerHeader, localPeerInfo } from './peer.js';
import type { StatsPluginConfig } from './plugin-config.js';
import type { Registry } from './registry.js';

/** Decoded peer headers kept (Istio's max_peer_cache_size default). */
const PEER_CACHE_SIZE = 500;

export class ProxyMetrics implements PeerSource {
  readonly registry: Registry;
  readonly families: IstioFamilies;
  readonly local: PeerInfo;
  readonly headerValue: string;
  private readonly decoded = new Map<string, PeerInfo | undefined>();

  constructor(
    readonly nodeId: string,
    node: LocalNode,
  ) {
    ({ registry: this.registry, families: this.families } = IstioFamilies.create());
    this.local = localPeerInfo(node);
    this.headerValue = encodePeerHeader(this.local);
  }

  /** A peer header's value decoded, cached by value so a peer is one object (label caches). */
  decode(value: string): PeerInfo | undefined {
    // Most requests carry the same peer as the one before: a string compare, not a hash of it.
    if (value === this.lastValue) return this.lastPeer;
    const peer = this.decoded.has(value) ? this.decoded.get(value) : this.decodeNew(value);
    this.lastValue = value;
    this.lastPeer = peer;
    return peer;
  }

  private lastValue: string | undefined;
  private lastPeer: PeerInfo | undefined;

  private decodeNew(value: string): PeerInfo | undefined {
    const peer = decodePeerHeader(value);
    if (this.decoded.size >= PEER_CACHE_SIZE) this.decoded.clear();
    this.decoded.set(value, peer);
    return peer;
  }

  /** The connection manager's telemetry, if its chain has Istio's filters. */
  forHcm(
    filters: readonly HttpFilterFactory[],
    direction: string,
    clusters: ClusterManager,
  ): HcmTelemetry | undefined {
    let stats: StatsPluginConfig | undefined;
    let peers: PeerMetadataFilter['config'] | undefined;
    for (const f of filters) {
      if (f.filter instanceof IstioStatsFilter) stats = f.filter.config;
      else if (f.filter instanceof PeerMetadataFilter) peers = f.filter.config;
    }
    if (!stats && !peers) return undefined;
    const recorder = stats
      ? new StatsRecorder(stats, this.families, this.local, direction)
      : undefined;
    return new HcmTelemetry(recorder, peers, this, clusters, direction);
  }

  /** A tcp_proxy chain's record of each finished connection, if it has `istio.stats`. */
  forTcp(
    config: StatsPluginConfig | undefined,
    direction: string,
    clusters: ClusterManager,
  ): ((session: TcpSession) => void) | undefined {
    if (!config) return undefined;
    const recorder = new StatsRecorder(config, this.families, this.local, direction);
    const inbound = direction === 'INBOUND';
    return (s) =>
      recorder.recordTcp(
        {
          // No TCP metadata exchange (Istio's needs mTLS ALPN): the client knows the endpoint.
          peer: inbound ? undefined : endpointPeer(s.upstreamHost),
          cluster: clusters.get(s.clusterName),
          clusterName: s.clusterName,
          sent: s.bytesSent,
          received: s.bytesReceived,
        },
        {
          protocol: 'tcp',
          responseCode: '0',
          grpcStatus: '',
          flags: flagsString(s.responseFlags),
          expressionInput: undefined,
        },
      );
  }

  /** Prometheus text (exposition format 0.0.4). */
  render(
    clusters: ClusterManager,
    listeners: readonly ListenerView[],
    connected: boolean,
    xds: readonly XdsStatScope[] = [],
  ): string {
    const out: string[] = [];
    this.registry.render(out);
    renderEnvoyStats(clusters.all(), listeners, connected, out, xds);
    return out.join('\n') + '\n';
  }
}
