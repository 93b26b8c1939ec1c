// Span export off the request path: finished spans go to a bounded buffer, flushed as one batch
// every second or when a batch is full, one report in flight per collector (so reports arrive in
// order). A full buffer drops spans and counts them; a collector that is down or slow costs
// requests nothing (reports fail, are counted, and the spans in them are gone, as Envoy's are).
import http from 'node:http';
import type { ClusterManager } from '../../upstream/cluster-manager.js';
import type { TracingProvider } from './config.js';
import { otlpJson, zipkinJson } from './encode.js';
import type { FinishedSpan } from './span.js';

export interface ExporterStats {
  /** Spans handed to the collector in successful reports. */
  spans_sent: number;
  /** Spans dropped because the buffer was full. */
  spans_dropped: number;
  reports_sent: number;
  reports_failed: number;
}

export interface ExporterOptions {
  readonly maxBufferedSpans: number;
  readonly batchSize: number;
  readonly flushIntervalMs: number;
}

const DEFAULTS: ExporterOptions = { maxBufferedSpans: 4096, batchSize: 128, flushIntervalMs: 1000 };

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

export class SpanExporter {
  readonly stats: ExporterStats = {
    spans_sent: 0,
    spans_dropped: 0,
    reports_sent: 0,
    reports_failed: 0,
  };
  private buffer: FinishedSpan[] = [];
  private inFlight = false;
  private readonly timer: NodeJS.Timeout;
  private warned = false;

  constructor(
    readonly provider: TracingProvider,
    /** The proxy's clusters: the collector is one of them (Istio's `outbound|port||host`). */
    public clusters: ClusterManager,
    private readonly log: (line: string) => void,
    private readonly opts: ExporterOptions = DEFAULTS,
  ) {
    this.timer = setInterval(() => this.flush(), opts.flushIntervalMs);
    this.timer.unref();
  }

  add(span: FinishedSpan): void {
    if (this.buffer.length >= this.opts.maxBufferedSpans) {
      this.stats.spans_dropped++;
      return;
    }
    this.buffer.push(span);
    if (this.buffer.length >= this.opts.batchSize && !this.inFlight)
      setImmediate(() => this.flush());
  }

  /** Sends one batch now, unless one is on its way (the next tick of the timer sends the rest). */
  flush(): void {
    if (this.inFlight || this.buffer.length === 0) return;
    const batch = this.buffer.splice(0, this.opts.batchSize);
    const p = this.provider;
    if (p.kind === 'otlp-grpc') {
      // OTLP/gRPC needs the OTLP protos, which skiff does not ship: say so once, drop.
      if (!this.warned) this.log(`tracing: OTLP/gRPC export to ${p.cluster} is not supported`);
      this.warned = true;
      this.stats.reports_failed++;
      return;
    }
    const host = this.clusters.get(p.cluster)?.chooseHost({ authority: p.hostname });
    if (!host) {
      this.fail(batch, `no host in cluster ${p.cluster}`);
      return;
    }
    const body =
      p.kind === 'zipkin' ? zipkinJson(batch, p.traceId128) : otlpJson(batch, p.serviceName);
    const headers: Record<string, string> = {
      host: p.hostname,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
    };
    if (p.kind === 'otlp-http') for (const [k, v] of p.headers) headers[k] = v;
    this.inFlight = true;
    const req = http.request(
      {
        agent,
        host: host.address,
        port: host.port,
        method: 'POST',
        path: p.path,
        headers,
        timeout: p.kind === 'otlp-http' ? p.timeoutMs : 5000,
      },
      (res) => {
        res.resume();
        res.once('end', () => {
          this.inFlight = false;
          const ok = (res.statusCode ?? 500) < 300;
          if (ok) {
            this.stats.reports_sent++;
            this.stats.spans_sent += batch.length;
          } else this.fail(batch, `collector answered ${res.statusCode}`);
          if (this.buffer.length >= this.opts.batchSize) this.flush();
        });
      },
    );
    req.once('timeout', () => req.destroy(new Error('timed out')));
    req.once('error', (e) => {
      this.inFlight = false;
      this.fail(batch, e.message);
    });
    req.end(body);
  }

  private fail(batch: readonly FinishedSpan[], why: string): void {
    this.stats.reports_failed++;
    if (!this.warned) this.log(`tracing: report of ${batch.length} spans failed: ${why}`);
    this.warned = true;
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/** One exporter per collector and service name, shared by every listener of the proxy. */
const exporters = new Map<string, SpanExporter>();

export function exporterFor(
  provider: TracingProvider,
  clusters: ClusterManager,
  log: (line: string) => void,
): SpanExporter {
  const key = JSON.stringify(provider);
  let e = exporters.get(key);
  if (!e) {
    e = new SpanExporter(provider, clusters, log);
    exporters.set(key, e);
  } else e.clusters = clusters;
  return e;
}

/** Envoy-style counters per collector: `tracing.<kind>.<cluster>.<stat>` → value. */
export function tracingStats(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of exporters.values()) {
    const prefix = `tracing.${e.provider.kind}.${e.provider.cluster}`;
    for (const [k, v] of Object.entries(e.stats)) out[`${prefix}.${k}`] = v;
  }
  return out;
}
