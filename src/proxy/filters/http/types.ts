// The HTTP filter contract: filters run in order on the request; one may answer it locally
// (fault, cors preflight, jwt, rbac); the router, last, forwards it. On the way back, the
// filters that saw the request adjust the response head in reverse order (Envoy's encoders).
import type { OutgoingHttpHeaders } from 'node:http';
import type { HttpStream } from '../../http/stream.js';
import type { FilterStats } from './filter-stats.js';
import type { HeaderMap } from './header-map.js';

export interface LocalReply {
  readonly status: number;
  readonly body: string;
  readonly headers?: OutgoingHttpHeaders;
  /**
   * For gRPC requests: the grpc-status to answer with (a fault's grpcStatus). Without it, a
   * local reply to a gRPC request maps `status` to a grpc-status as Envoy does.
   */
  readonly grpcStatus?: number;
}

export interface HttpFilter {
  /** Continue (undefined), or answer with a local reply. May be async (jwt, delays). */
  onRequest?(stream: HttpStream): LocalReply | undefined | Promise<LocalReply | undefined>;
  /**
   * Adjusts a response head before it is sent (upstream responses and local replies alike),
   * for requests whose onRequest ran and continued or answered (cors, telemetry).
   */
  onResponseHeaders?(stream: HttpStream, status: number, headers: HeaderMap): void;
  /** The filter's counters; the connection manager keeps them in its listener's stats. */
  readonly stats?: FilterStats;
}

/** A filter compiled from its typed_config, once per config update. */
export interface HttpFilterFactory {
  /** The filter's name in http_filters, e.g. `envoy.filters.http.fault`. */
  readonly name: string;
  /** Whether this is the terminal router filter. */
  readonly terminal: boolean;
  readonly filter: HttpFilter;
}
