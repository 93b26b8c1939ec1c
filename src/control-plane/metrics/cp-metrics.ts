// The control plane's own metrics (istiod's, served at /metrics as istiod serves them on 15014):
// pushes and push time by xDS type, proxy convergence time, connected proxies, rejected configs,
// push triggers, CSRs, and the process. Names, types, labels and buckets follow istiod's
// (pilot/pkg/xds/monitoring.go, pilot/pkg/xds/v3 reject gauges, security/pkg/server/ca).
//
// It listens to the ADS server's events and does O(1) work per event: no event waits on it,
// and what is costly to keep up to date (connected proxies by version) is computed at scrape time.
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AdsEvents, AdsServer, ProxyStatus } from '../server/ads-server.js';
import { TypeUrl } from '../../xds/types.js';
import { GRPC_CODE_NAMES } from '../../xds/grpc-codes.js';

/** istiod's metric type names for the xDS types (v3.GetMetricType). */
const METRIC_TYPE: Readonly<Record<string, string>> = {
  [TypeUrl.Cluster]: 'cds',
  [TypeUrl.ClusterLoadAssignment]: 'eds',
  [TypeUrl.Listener]: 'lds',
  [TypeUrl.RouteConfiguration]: 'rds',
  [TypeUrl.Secret]: 'sds',
};

export function metricType(typeUrl: string): string {
  return METRIC_TYPE[typeUrl] ?? typeUrl.slice(typeUrl.lastIndexOf('.') + 1).toLowerCase();
}

export function grpcCodeName(code: number | undefined): string {
  return GRPC_CODE_NAMES[code ?? 2] ?? `Code(${code})`;
}

/** What the model knows, read at scrape time (istiod's pilot_services, pilot_virt_services). */
export interface ModelCounts {
  services(): number;
  virtualServices(): number;
}

export interface ControlPlaneMetricsOptions {
  /** istio_build's tag. */
  readonly version: string;
  readonly model?: ModelCounts;
  /** Process and Node.js runtime metrics (process_cpu_seconds_total, ...); on by default. */
  readonly processMetrics?: boolean;
}

/** The types a proxy has yet to answer since a config change, and when that change happened. */
interface Converging {
  readonly since: number;
  readonly versions: Map<string, string>;
}

export class ControlPlaneMetrics {
  readonly registry = new Registry();
  readonly #pushes: Counter<'type'>;
  readonly #pushTime: Histogram<'type'>;
  readonly #convergence: Histogram;
  readonly #triggers: Counter<'type'>;
  readonly #rejects: Counter<'type'>;
  readonly #rejectByType: ReadonlyMap<string, Gauge<'node' | 'err'>>;
  readonly #csrs: Counter;
  readonly #issued: Counter;
  /** The start of the synchronous push round in progress, and the change that caused it. */
  #round: { start: number; last: number; changedAt: number } | undefined;
  /** The first config change not pushed yet (Istio measures convergence from it). */
  #changedAt: number | undefined;
  #pendingTriggers = new Set<string>();
  readonly #requestAt = new Map<number, number>();
  readonly #errorCode = new Map<number, number | undefined>();
  readonly #converging = new Map<number, Converging>();
  #ads: AdsServer | undefined;

  constructor(opts: ControlPlaneMetricsOptions) {
    const registers = [this.registry];
    const connected = (): readonly ProxyStatus[] => this.#ads?.status() ?? [];
    this.#pushes = new Counter({
      name: 'pilot_xds_pushes',
      help: 'Pilot build and send errors for lds, rds, cds and eds.',
      labelNames: ['type'],
      registers,
    });
    this.#pushTime = new Histogram({
      name: 'pilot_xds_push_time',
      help: 'Total time in seconds Pilot takes to push lds, rds, cds and eds.',
      labelNames: ['type'],
      buckets: [0.01, 0.1, 1, 3, 5, 10, 20, 30],
      registers,
    });
    this.#convergence = new Histogram({
      name: 'pilot_proxy_convergence_time',
      help: 'Delay in seconds between config change and a proxy receiving all required configuration.',
      buckets: [0.1, 0.5, 1, 3, 5, 10, 20, 30],
      registers,
    });
    this.#triggers = new Counter({
      name: 'pilot_push_triggers',
      help: 'Total number of times a push was triggered, labeled by reason for the push.',
      labelNames: ['type'],
      registers,
    });
    this.#rejects = new Counter({
      name: 'pilot_total_xds_rejects',
      help: 'Total number of XDS responses from pilot rejected by proxy.',
      labelNames: ['type'],
      registers,
    });
    const rejectGauge = (t: string, help: string): [string, Gauge<'node' | 'err'>] => [
      t,
      new Gauge({
        name: `pilot_xds_${t}_reject`,
        help,
        labelNames: ['node', 'err'],
        registers,
      }),
    ];
    this.#rejectByType = new Map([
      rejectGauge('cds', 'Pilot rejected CDS configs.'),
      rejectGauge('eds', 'Pilot rejected EDS.'),
      rejectGauge('lds', 'Pilot rejected LDS.'),
      rejectGauge('rds', 'Pilot rejected RDS.'),
    ]);
    new Gauge({
      name: 'pilot_xds',
      help: 'Number of endpoints connected to this pilot using XDS.',
      labelNames: ['version'],
      registers,
      collect() {
        this.reset();
        for (const [version, n] of connectedByVersion(connected())) this.set({ version }, n);
      },
    });
    if (opts.model) {
      const model = opts.model;
      new Gauge({
        name: 'pilot_services',
        help: 'Total services known to pilot.',
        registers,
        collect() {
          this.set(model.services());
        },
      });
      new Gauge({
        name: 'pilot_virt_services',
        help: 'Total virtual services known to pilot.',
        registers,
        collect() {
          this.set(model.virtualServices());
        },
      });
    }
    // skiff has no CA yet: both stay at 0 until one calls csrReceived()/certIssued().
    this.#csrs = new Counter({
      name: 'citadel_server_csr_count',
      help: 'The number of CSRs received by Citadel server.',
      registers,
    });
    this.#issued = new Counter({
      name: 'citadel_server_success_cert_issuance_count',
      help: 'The number of certificates issuances that have succeeded.',
      registers,
    });
    this.#csrs.inc(0);
    this.#issued.inc(0);
    const started = Date.now();
    new Gauge({
      name: 'istiod_uptime_seconds',
      help: 'Current istiod server uptime in seconds',
      registers,
      collect() {
        this.set((Date.now() - started) / 1000);
      },
    });
    new Gauge({
      name: 'istio_build',
      help: 'Istio component build info',
      labelNames: ['component', 'tag'],
      registers,
    }).set({ component: 'pilot', tag: opts.version }, 1);
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Follows the ADS server's events (one listener per event, constant work each). */
  attach(ads: AdsServer): void {
    this.#ads = ads;
    ads.on('request', (e: AdsEvents['request']) => {
      this.#requestAt.set(e.streamId, performance.now());
      if (e.request.error_detail) this.#errorCode.set(e.streamId, e.request.error_detail.code);
    });
    ads.on('push', (e: AdsEvents['push']) => this.#onPush(e));
    ads.on('ack', (e: AdsEvents['ack']) => this.#answered(e.streamId, e.typeUrl, e.version, true));
    ads.on('nack', (e: AdsEvents['nack']) => this.#onNack(e));
    ads.on('disconnect', (e: AdsEvents['disconnect']) => {
      this.#requestAt.delete(e.streamId);
      this.#errorCode.delete(e.streamId);
      this.#converging.delete(e.streamId);
    });
  }

  /**
   * A config or instances change arrived; `reason` is the store's or 'instances'. Convergence is
   * measured from the first change of a burst, as istiod measures it from the push request's start.
   */
  configChanged(reason: string): void {
    this.#changedAt ??= performance.now();
    this.#pendingTriggers.add(reason === 'instances' ? 'endpoint' : 'config');
  }

  /** Runs a push round (`ads.push`), which sends synchronously: its sends are timed from here. */
  pushRound(push: () => void): void {
    const start = performance.now();
    this.#round = { start, last: start, changedAt: this.#changedAt ?? start };
    this.#changedAt = undefined;
    for (const t of this.#pendingTriggers) this.#triggers.inc({ type: t });
    this.#pendingTriggers.clear();
    try {
      push();
    } finally {
      this.#round = undefined;
    }
  }

  /** For the CA, when there is one. */
  csrReceived(): void {
    this.#csrs.inc();
  }

  certIssued(): void {
    this.#issued.inc();
  }

  /** The Prometheus text exposition. */
  async render(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }

  #onPush(e: AdsEvents['push']): void {
    const now = performance.now();
    const type = metricType(e.typeUrl);
    this.#pushes.inc({ type });
    const round = this.#round;
    if (round && e.reason !== 'request') {
      // A push round: from the end of the previous send (or the round's start) to this one.
      this.#pushTime.observe({ type }, (now - round.last) / 1000);
      round.last = now;
      const c = this.#converging.get(e.streamId) ?? {
        since: round.changedAt,
        versions: new Map<string, string>(),
      };
      c.versions.set(e.typeUrl, e.version);
      this.#converging.set(e.streamId, c);
      return;
    }
    // An answer to a request: from the request's arrival to the send.
    const at = this.#requestAt.get(e.streamId);
    if (at !== undefined) this.#pushTime.observe({ type }, (now - at) / 1000);
  }

  #onNack(e: AdsEvents['nack']): void {
    const type = metricType(e.typeUrl);
    this.#rejects.inc({ type });
    const err = grpcCodeName(this.#errorCode.get(e.streamId));
    this.#rejectByType.get(type)?.inc({ node: e.proxyId, err });
    this.#answered(e.streamId, e.typeUrl, e.version, false);
  }

  /** The proxy answered a type; once it has answered every type of the round, it converged. */
  #answered(streamId: number, typeUrl: string, version: string, accepted: boolean): void {
    const c = this.#converging.get(streamId);
    if (!c || c.versions.get(typeUrl) !== version) return;
    if (!accepted) {
      // A rejected config never converges: it shows in the rejects instead.
      this.#converging.delete(streamId);
      return;
    }
    c.versions.delete(typeUrl);
    if (c.versions.size > 0) return;
    this.#converging.delete(streamId);
    this.#convergence.observe((performance.now() - c.since) / 1000);
  }
}

function connectedByVersion(proxies: readonly ProxyStatus[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of proxies) {
    const v = p.node.istioVersion || 'unknown';
    out.set(v, (out.get(v) ?? 0) + 1);
  }
  return out;
}
