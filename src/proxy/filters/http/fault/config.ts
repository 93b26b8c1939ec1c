// envoy.extensions.filters.http.fault.v3.HTTPFault → frozen fault settings, for the filter
// itself and for routes (typed_per_filter_config, which Istio writes for VirtualService `fault`).
import { ConfigError, inField } from '../../../config-error.js';
import type { Predicate, RequestView } from '../../../routes/matchers.js';
import { compileHeaderMatcher } from '../../../routes/matchers.js';
import { durationMs } from '../../../routes/duration.js';
import type { Fraction } from '../percent.js';
import { compileFraction } from '../percent.js';

type Obj = Record<string, unknown>;

export const FAULT_TYPE = 'envoy.extensions.filters.http.fault.v3.HTTPFault';

export interface FaultDelay {
  /** fixed_delay; undefined with header_delay (the x-envoy-fault-delay-request header says). */
  readonly fixedMs: number | undefined;
  readonly percentage: Fraction;
}

export interface FaultAbort {
  /** http_status, or 200 with grpc_status (Envoy answers gRPC aborts with HTTP 200). */
  readonly httpStatus: number | undefined;
  readonly grpcStatus: number | undefined;
  /** header_abort: x-envoy-fault-abort-request / -grpc-request give the status. */
  readonly fromHeader: boolean;
  readonly percentage: Fraction;
}

export interface FaultSettings {
  readonly delay: FaultDelay | undefined;
  readonly abort: FaultAbort | undefined;
  /** Only requests routed to this cluster get faults ('' = any). */
  readonly upstreamCluster: string;
  readonly headers: readonly Predicate<RequestView>[];
  /** x-envoy-downstream-service-node values that get faults (empty = any). */
  readonly downstreamNodes: ReadonlySet<string>;
  readonly maxActiveFaults: number | undefined;
}

function compileDelay(d: Obj): FaultDelay {
  const percentage = compileFraction(d['percentage'], 'percentage');
  if (d['fixed_delay'] !== undefined)
    return { fixedMs: durationMs(d['fixed_delay'], 'fixed_delay'), percentage };
  if (d['header_delay'] !== undefined) return { fixedMs: undefined, percentage };
  throw new ConfigError('', 'a delay needs fixed_delay or header_delay');
}

function compileAbort(a: Obj): FaultAbort {
  const percentage = compileFraction(a['percentage'], 'percentage');
  if (a['http_status'] !== undefined) {
    const status = Number(a['http_status']);
    if (!Number.isInteger(status) || status < 200 || status >= 600)
      throw new ConfigError(
        'http_status',
        `must be in [200, 600), got ${String(a['http_status'])}`,
      );
    return { httpStatus: status, grpcStatus: undefined, fromHeader: false, percentage };
  }
  if (a['grpc_status'] !== undefined) {
    const code = Number(a['grpc_status']);
    if (!Number.isInteger(code) || code < 0)
      throw new ConfigError('grpc_status', `invalid gRPC status ${String(a['grpc_status'])}`);
    return { httpStatus: 200, grpcStatus: code, fromHeader: false, percentage };
  }
  if (a['header_abort'] !== undefined)
    return { httpStatus: undefined, grpcStatus: undefined, fromHeader: true, percentage };
  throw new ConfigError('', 'an abort needs http_status, grpc_status or header_abort');
}

export function compileFaultSettings(typed: Obj): FaultSettings {
  if (typed['response_rate_limit'] !== undefined)
    throw new ConfigError('response_rate_limit', 'response rate limiting is not supported');
  const max = typed['max_active_faults'];
  return Object.freeze({
    delay: typed['delay'] ? inField('delay', () => compileDelay(typed['delay'] as Obj)) : undefined,
    abort: typed['abort'] ? inField('abort', () => compileAbort(typed['abort'] as Obj)) : undefined,
    upstreamCluster: String(typed['upstream_cluster'] ?? ''),
    headers: ((typed['headers'] as Obj[] | undefined) ?? []).map((h, i) =>
      compileHeaderMatcher(h, `headers[${i}]`),
    ),
    downstreamNodes: new Set(
      ((typed['downstream_nodes'] as string[] | undefined) ?? []).map(String),
    ),
    maxActiveFaults: max === undefined ? undefined : Number(max),
  });
}
