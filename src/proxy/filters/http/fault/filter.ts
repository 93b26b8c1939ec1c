// Envoy's fault filter per request: a delay (response flag DI) and then, or instead, an abort
// (flag FI, details fault_filter_abort, body "fault filter abort"), each for its percentage of
// requests; the route's config (typed_per_filter_config) replaces the filter's own.
import type { HttpStream } from '../../../http/stream.js';
import { requestHeader } from '../header-map.js';
import type { FilterContext } from '../filter-stats.js';
import { FilterStats } from '../filter-stats.js';
import { DISABLED, perFilterConfig } from '../per-route.js';
import { sampled } from '../percent.js';
import type { Fraction } from '../percent.js';
import type { HttpFilter, HttpFilterFactory, LocalReply } from '../types.js';
import type { FaultSettings } from './config.js';
import { compileFaultSettings } from './config.js';

type Obj = Record<string, unknown>;

// The headers that control header_delay / header_abort faults (fault filter docs).
const DELAY_HEADER = 'x-envoy-fault-delay-request';
const DELAY_PERCENT_HEADER = 'x-envoy-fault-delay-request-percentage';
const ABORT_HEADER = 'x-envoy-fault-abort-request';
const ABORT_GRPC_HEADER = 'x-envoy-fault-abort-grpc-request';
const ABORT_PERCENT_HEADER = 'x-envoy-fault-abort-request-percentage';

/**
 * A percentage header narrows the configured one: its value is a numerator over the configured
 * denominator, never above the configured numerator.
 */
function headerFraction(configured: Fraction, value: string | undefined): Fraction {
  if (value === undefined) return configured;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) return configured;
  return { numerator: Math.min(n, configured.numerator), denominator: configured.denominator };
}

export class FaultFilter implements HttpFilter {
  readonly stats: FilterStats;

  constructor(
    private readonly settings: FaultSettings,
    private readonly name: string,
    statPrefix: string,
  ) {
    this.stats = new FilterStats(`${statPrefix}.fault.`);
  }

  private applies(s: FaultSettings, stream: HttpStream): boolean {
    if (!s.delay && !s.abort) return false;
    if (s.upstreamCluster && stream.clusterChoice?.name !== s.upstreamCluster) return false;
    const headers = stream.view.headers;
    if (s.downstreamNodes.size) {
      const node = requestHeader(headers, 'x-envoy-downstream-service-node');
      if (node === undefined || !s.downstreamNodes.has(node)) return false;
    }
    for (const h of s.headers) if (!h(stream.view)) return false;
    return true;
  }

  private delayMs(s: FaultSettings, stream: HttpStream): number {
    const d = s.delay;
    if (!d) return 0;
    const headers = stream.view.headers;
    if (!sampled(headerFraction(d.percentage, requestHeader(headers, DELAY_PERCENT_HEADER))))
      return 0;
    if (d.fixedMs !== undefined) return d.fixedMs;
    const v = Number(requestHeader(headers, DELAY_HEADER));
    return Number.isFinite(v) && v > 0 ? v : 0;
  }

  private abortReply(s: FaultSettings, stream: HttpStream): LocalReply | undefined {
    const a = s.abort;
    if (!a) return undefined;
    const headers = stream.view.headers;
    if (!sampled(headerFraction(a.percentage, requestHeader(headers, ABORT_PERCENT_HEADER))))
      return undefined;
    let httpStatus = a.httpStatus;
    let grpcStatus = a.grpcStatus;
    if (a.fromHeader) {
      // An HTTP status header wins over a gRPC one, as in Envoy.
      const http = Number(requestHeader(headers, ABORT_HEADER));
      const grpc = Number(requestHeader(headers, ABORT_GRPC_HEADER));
      if (Number.isInteger(http) && http >= 200 && http < 600) httpStatus = http;
      else if (requestHeader(headers, ABORT_GRPC_HEADER) !== undefined && Number.isInteger(grpc)) {
        httpStatus = 200;
        grpcStatus = grpc;
      } else return undefined;
    }
    if (httpStatus === undefined) return undefined;
    this.stats.add('aborts_injected');
    stream.responseFlags.add('FI');
    stream.responseCodeDetails = 'fault_filter_abort';
    return {
      status: httpStatus,
      body: 'fault filter abort',
      ...(grpcStatus !== undefined ? { grpcStatus } : {}),
    };
  }

  /** max_active_faults: Envoy's fuzzy limit on faults in progress. */
  private tryStart(s: FaultSettings): boolean {
    if (s.maxActiveFaults !== undefined && this.stats.get('active_faults') >= s.maxActiveFaults) {
      this.stats.add('faults_overflow');
      return false;
    }
    this.stats.add('active_faults');
    return true;
  }

  onRequest(stream: HttpStream): LocalReply | undefined | Promise<LocalReply | undefined> {
    const routeSettings = perFilterConfig(stream, this.name);
    if (routeSettings === DISABLED) return undefined;
    const s = (routeSettings as FaultSettings | undefined) ?? this.settings;
    if (!this.applies(s, stream)) return undefined;
    const ms = this.delayMs(s, stream);
    if (ms > 0) {
      if (!this.tryStart(s)) return undefined;
      this.stats.add('delays_injected');
      stream.responseFlags.add('DI');
      return this.delay(stream, ms).then(() => {
        const reply = this.abortReply(s, stream);
        this.stats.add('active_faults', -1);
        return reply;
      });
    }
    if (!s.abort || !this.tryStart(s)) return undefined;
    const reply = this.abortReply(s, stream);
    this.stats.add('active_faults', -1);
    return reply;
  }

  /** Waits `ms`, or less when the client goes away meanwhile (nothing left to delay). */
  private delay(stream: HttpStream, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stream.res.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      stream.res.once('close', done);
    });
  }
}

export function makeFaultFilter(typed: Obj, ctx: FilterContext): HttpFilterFactory {
  return {
    name: ctx.name,
    terminal: false,
    filter: new FaultFilter(compileFaultSettings(typed), ctx.name, ctx.statPrefix),
  };
}
