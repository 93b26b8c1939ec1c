// The HTTP filter contract: filters run in order on the request; one may answer it locally
// (fault, cors preflight, jwt, rbac); the router, last, forwards it.
import type { OutgoingHttpHeaders } from 'node:http';
import type { HttpStream } from '../../http/stream.js';

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
  /** Adjusts response headers before they are sent (cors, telemetry). */
  onResponseHeaders?(stream: HttpStream, status: number, headers: OutgoingHttpHeaders): void;
}

/** A filter compiled from its typed_config, once per config update. */
export interface HttpFilterFactory {
  /** The Envoy filter name, e.g. `envoy.filters.http.router`. */
  readonly name: string;
  /** Whether this is the terminal router filter. */
  readonly terminal: boolean;
  readonly filter: HttpFilter;
}
