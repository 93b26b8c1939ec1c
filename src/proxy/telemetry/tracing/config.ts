// HttpConnectionManager.tracing (envoy.extensions.filters.network.http_connection_manager.v3)
// → a frozen TracingConfig: sampling percentages, custom tags, and the provider
// (envoy.tracers.zipkin: envoy.config.trace.v3.ZipkinConfig; envoy.tracers.opentelemetry:
// envoy.config.trace.v3.OpenTelemetryConfig). No provider: context is propagated, nothing reported.
import { ConfigError, inField } from '../../config-error.js';
import { messageNameOf } from '../../../xds/types.js';

type Obj = Record<string, unknown>;

export const ZIPKIN_CONFIG = 'envoy.config.trace.v3.ZipkinConfig';
export const OTEL_CONFIG = 'envoy.config.trace.v3.OpenTelemetryConfig';

/** A custom tag with its value source resolved where it is fixed (literal, environment). */
export type CustomTag =
  | { readonly tag: string; readonly kind: 'fixed'; readonly value: string }
  | {
      readonly tag: string;
      readonly kind: 'header';
      readonly header: string;
      readonly defaultValue: string;
    };

export type TracingProvider =
  | {
      readonly kind: 'zipkin';
      readonly cluster: string;
      readonly path: string;
      readonly hostname: string;
      readonly traceId128: boolean;
      readonly sharedSpanContext: boolean;
    }
  | {
      readonly kind: 'otlp-http';
      readonly cluster: string;
      readonly path: string;
      readonly hostname: string;
      readonly headers: readonly (readonly [string, string])[];
      readonly timeoutMs: number;
      readonly serviceName: string;
    }
  | {
      readonly kind: 'otlp-grpc';
      readonly cluster: string;
      readonly authority: string;
      readonly timeoutMs: number;
      readonly serviceName: string;
    };

export interface TracingConfig {
  /** Percentages (0–100) as Envoy's client_sampling, random_sampling, overall_sampling. */
  readonly clientSampling: number;
  readonly randomSampling: number;
  readonly overallSampling: number;
  readonly customTags: readonly CustomTag[];
  /** http.url is cut to this many characters (Envoy's default 256). */
  readonly maxPathTagLength: number;
  /** The router records its own CLIENT span per request; the HCM span is then SERVER. */
  readonly spawnUpstreamSpan: boolean;
  readonly provider: TracingProvider | undefined;
}

function percent(v: unknown, field: string, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  const n = (v as Obj)['value'];
  if (n === undefined) return 0; // an empty Percent message is 0 (proto3 default)
  if (typeof n !== 'number' || !(n >= 0 && n <= 100))
    throw new ConfigError(`${field}.value`, 'must be a percentage between 0 and 100');
  return n;
}

function str(o: Obj, key: string, fallback = ''): string {
  const v = o[key];
  return typeof v === 'string' ? v : fallback;
}

function compileTag(t: Obj): CustomTag {
  const tag = str(t, 'tag');
  if (!tag) throw new ConfigError('tag', 'required');
  if (t['literal']) return { tag, kind: 'fixed', value: str(t['literal'] as Obj, 'value') };
  if (t['environment']) {
    const e = t['environment'] as Obj;
    const name = str(e, 'name');
    if (!name) throw new ConfigError('environment.name', 'required');
    return { tag, kind: 'fixed', value: process.env[name] ?? str(e, 'default_value') };
  }
  if (t['request_header']) {
    const h = t['request_header'] as Obj;
    const header = str(h, 'name').toLowerCase();
    if (!header) throw new ConfigError('request_header.name', 'required');
    return { tag, kind: 'header', header, defaultValue: str(h, 'default_value') };
  }
  throw new ConfigError('', 'only literal, environment and request_header tags are supported');
}

function durationMs(v: unknown, fallback: number): number {
  if (typeof v === 'string' && /^\d+(\.\d+)?s$/.test(v)) return parseFloat(v) * 1000;
  if (v && typeof v === 'object') {
    const o = v as Obj;
    return Number(o['seconds'] ?? 0) * 1000 + Number(o['nanos'] ?? 0) / 1e6;
  }
  return fallback;
}

function compileProvider(p: Obj): TracingProvider {
  const typed = (p['typed_config'] as Obj | undefined) ?? {};
  const type = messageNameOf(str(typed, '@type'));
  if (type === ZIPKIN_CONFIG) {
    const cluster = str(typed, 'collector_cluster');
    if (!cluster) throw new ConfigError('typed_config.collector_cluster', 'required');
    const version = str(typed, 'collector_endpoint_version', 'HTTP_JSON');
    if (version !== 'HTTP_JSON')
      throw new ConfigError(
        'typed_config.collector_endpoint_version',
        `${version} is not supported (HTTP_JSON is)`,
      );
    const shared = typed['shared_span_context'] as Obj | boolean | undefined;
    return {
      kind: 'zipkin',
      cluster,
      path: str(typed, 'collector_endpoint', '/api/v2/spans') || '/api/v2/spans',
      hostname: str(typed, 'collector_hostname', cluster),
      traceId128: typed['trace_id_128bit'] === true,
      // A BoolValue: Envoy's default is true.
      sharedSpanContext:
        shared === undefined
          ? true
          : typeof shared === 'boolean'
            ? shared
            : shared['value'] === true,
    };
  }
  if (type === OTEL_CONFIG) {
    const serviceName =
      str(typed, 'service_name', 'unknown_service:envoy') || 'unknown_service:envoy';
    const http = typed['http_service'] as Obj | undefined;
    if (http) {
      const uri = (http['http_uri'] as Obj | undefined) ?? {};
      const cluster = str(uri, 'cluster');
      if (!cluster) throw new ConfigError('typed_config.http_service.http_uri.cluster', 'required');
      const url = str(uri, 'uri');
      const m = /^(?:[a-z]+:\/\/)?([^/]*)(\/.*)?$/.exec(url);
      const headers = ((http['request_headers_to_add'] as Obj[] | undefined) ?? []).map((o) => {
        const h = (o['header'] as Obj | undefined) ?? {};
        return [str(h, 'key').toLowerCase(), str(h, 'value')] as const;
      });
      return {
        kind: 'otlp-http',
        cluster,
        path: m?.[2] || '/v1/traces',
        hostname: m?.[1] || cluster,
        headers,
        timeoutMs: durationMs(uri['timeout'], 5000),
        serviceName,
      };
    }
    const grpc = typed['grpc_service'] as Obj | undefined;
    const envoyGrpc = grpc?.['envoy_grpc'] as Obj | undefined;
    if (envoyGrpc) {
      const cluster = str(envoyGrpc, 'cluster_name');
      if (!cluster)
        throw new ConfigError('typed_config.grpc_service.envoy_grpc.cluster_name', 'required');
      return {
        kind: 'otlp-grpc',
        cluster,
        authority: str(envoyGrpc, 'authority', cluster) || cluster,
        timeoutMs: durationMs(grpc?.['timeout'], 5000),
        serviceName,
      };
    }
    throw new ConfigError('typed_config', 'needs http_service or grpc_service.envoy_grpc');
  }
  throw new ConfigError('typed_config', `tracer ${type || 'without a type'} is not supported`);
}

export function compileTracing(t: Obj): TracingConfig {
  const tags = (t['custom_tags'] as Obj[] | undefined) ?? [];
  // Wrapper types (UInt32Value, BoolValue) arrive as bare scalars (src/xds/wire/decode.ts).
  const max = t['max_path_tag_length'];
  const spawn = t['spawn_upstream_span'] as Obj | boolean | undefined;
  return Object.freeze({
    clientSampling: percent(t['client_sampling'], 'client_sampling', 100),
    randomSampling: percent(t['random_sampling'], 'random_sampling', 100),
    overallSampling: percent(t['overall_sampling'], 'overall_sampling', 100),
    customTags: tags.map((tag, i) => inField(`custom_tags[${i}]`, () => compileTag(tag))),
    maxPathTagLength: typeof max === 'number' ? max : 256,
    spawnUpstreamSpan: typeof spawn === 'boolean' ? spawn : spawn?.['value'] === true,
    provider: t['provider']
      ? inField('provider', () => compileProvider(t['provider'] as Obj))
      : undefined,
  });
}
