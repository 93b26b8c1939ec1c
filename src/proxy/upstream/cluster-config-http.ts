// A cluster's upstream connection settings: HttpProtocolOptions (the typed extension protocol
// option Istio sets, or the older cluster fields) and upstream_connection_options.tcp_keepalive.
import { ConfigError, inField } from '../config-error.js';
import { durationMs } from './duration.js';

type Obj = Record<string, unknown>;

export const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** HTTP/1.1, HTTP/2 (h2c), or whatever the downstream request used (useClientProtocol). */
export type UpstreamProtocol = 'http1' | 'http2' | 'downstream';

export interface HttpOptions {
  /** Close an upstream connection idle this long (Envoy: 1 h; 0 = never). */
  readonly idleTimeoutMs: number;
  /** Drain an upstream connection this long after it was made (0 = no limit). */
  readonly maxConnectionDurationMs: number;
  /** 0 = unlimited. */
  readonly maxRequestsPerConnection: number;
  readonly upstreamProtocol: UpstreamProtocol;
  /** http2_protocol_options.max_concurrent_streams (0 = the peer's limit). */
  readonly http2MaxConcurrentStreams: number;
}

export interface TcpKeepalive {
  /** Unanswered probes before the connection is dead (0 = the system's). */
  readonly probes: number;
  /** Idle seconds before the first probe (0 = the system's). */
  readonly timeS: number;
  /** Seconds between probes (0 = the system's). */
  readonly intervalS: number;
}

const ONE_HOUR_MS = 3_600_000;

function common(o: Obj | undefined): Partial<HttpOptions> {
  if (!o) return {};
  const out: { -readonly [K in keyof HttpOptions]?: HttpOptions[K] } = {};
  if (o['idle_timeout'] !== undefined)
    out.idleTimeoutMs = durationMs(o['idle_timeout'], 'idle_timeout');
  if (o['max_connection_duration'] !== undefined)
    out.maxConnectionDurationMs = durationMs(
      o['max_connection_duration'],
      'max_connection_duration',
    );
  if (o['max_requests_per_connection'] !== undefined)
    out.maxRequestsPerConnection = Number(o['max_requests_per_connection']);
  return out;
}

function h2Streams(o: Obj | undefined): number {
  return Number(o?.['max_concurrent_streams'] ?? 0);
}

/** The typed HttpProtocolOptions, Istio's way (typed_extension_protocol_options). */
function typedOptions(t: Obj): Partial<HttpOptions> {
  const out: { -readonly [K in keyof HttpOptions]?: HttpOptions[K] } = inField(
    'common_http_protocol_options',
    () => common(t['common_http_protocol_options'] as Obj | undefined),
  );
  const explicit = t['explicit_http_config'] as Obj | undefined;
  const downstream = t['use_downstream_protocol_config'] as Obj | undefined;
  if (t['auto_config'] !== undefined)
    throw new ConfigError('auto_config', 'is not supported (no ALPN upstream yet)');
  if (explicit?.['http3_protocol_options'] !== undefined)
    throw new ConfigError('explicit_http_config.http3_protocol_options', 'HTTP/3 is not supported');
  if (explicit?.['http2_protocol_options'] !== undefined) {
    out.upstreamProtocol = 'http2';
    out.http2MaxConcurrentStreams = h2Streams(explicit['http2_protocol_options'] as Obj);
  } else if (downstream) {
    out.upstreamProtocol = 'downstream';
    out.http2MaxConcurrentStreams = h2Streams(
      downstream['http2_protocol_options'] as Obj | undefined,
    );
  }
  return out;
}

export function compileHttpOptions(c: Obj): HttpOptions {
  // The older cluster-level fields, then the typed extension (which Envoy prefers).
  const legacy: { -readonly [K in keyof HttpOptions]?: HttpOptions[K] } = inField(
    'common_http_protocol_options',
    () => common(c['common_http_protocol_options'] as Obj | undefined),
  );
  if (c['max_requests_per_connection'] !== undefined)
    legacy.maxRequestsPerConnection = Number(c['max_requests_per_connection']);
  if (c['http2_protocol_options'] !== undefined) {
    legacy.upstreamProtocol = 'http2';
    legacy.http2MaxConcurrentStreams = h2Streams(c['http2_protocol_options'] as Obj);
  }
  if (c['protocol_selection'] === 'USE_DOWNSTREAM_PROTOCOL') legacy.upstreamProtocol = 'downstream';
  const ext = (c['typed_extension_protocol_options'] as Record<string, Obj> | undefined) ?? {};
  const typed = ext[HTTP_PROTOCOL_OPTIONS];
  const fromTyped = typed
    ? inField(`typed_extension_protocol_options[${HTTP_PROTOCOL_OPTIONS}]`, () =>
        typedOptions(typed),
      )
    : {};
  const merged = { ...legacy, ...fromTyped };
  const perConnection = merged.maxRequestsPerConnection ?? 0;
  if (!Number.isInteger(perConnection) || perConnection < 0)
    throw new ConfigError('max_requests_per_connection', `invalid value ${perConnection}`);
  return {
    idleTimeoutMs: merged.idleTimeoutMs ?? ONE_HOUR_MS,
    maxConnectionDurationMs: merged.maxConnectionDurationMs ?? 0,
    maxRequestsPerConnection: perConnection,
    upstreamProtocol: merged.upstreamProtocol ?? 'http1',
    http2MaxConcurrentStreams: merged.http2MaxConcurrentStreams ?? 0,
  };
}

export function compileKeepalive(c: Obj): TcpKeepalive | undefined {
  const k = (c['upstream_connection_options'] as Obj | undefined)?.['tcp_keepalive'] as
    Obj | undefined;
  if (!k) return undefined;
  return {
    probes: Number(k['keepalive_probes'] ?? 0),
    timeS: Number(k['keepalive_time'] ?? 0),
    intervalS: Number(k['keepalive_interval'] ?? 0),
  };
}
