// Errors the data plane turns into local replies. Each carries Envoy's response flag and
// response code details, so access logs and metrics can say what happened as Envoy would.

export type ResponseFlag =
  | 'NR' // no route configured
  | 'NC' // no cluster (upstream cluster not found)
  | 'UH' // no healthy upstream hosts
  | 'UF' // upstream connection failure
  | 'UO' // upstream overflow (circuit breaking)
  | 'UT' // upstream request timeout
  | 'UC' // upstream connection termination
  | 'URX' // upstream retry limit exceeded
  | 'DC' // downstream connection termination
  | 'DI' // delay injected
  | 'FI' // fault injected
  | 'RL' // rate limited
  | 'DPE' // downstream protocol error
  | 'UAEX' // unauthorized (external authorization)
  | 'UR' // upstream remote reset (HTTP/2 RST_STREAM, refused stream)
  | 'LR' // connection local reset
  | 'SI' // stream idle timeout
  | 'DT' // request or connection exceeded max duration
  | 'UMSDR' // upstream request reached max stream duration
  | 'DF' // DNS resolution failed
  | 'NFCF'; // no filter config found (ECDS)

export class ProxyError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    readonly flag: ResponseFlag,
    /** Envoy's response code details, e.g. `route_not_found`. */
    readonly details: string,
    /** The body Envoy sends for this local reply ('' for none). */
    readonly body: string,
  ) {
    super(body || details);
  }
}

export const noRoute = (): ProxyError =>
  new ProxyError('ERR_NO_ROUTE', 404, 'NR', 'route_not_found', '');

export const noCluster = (name: string): ProxyError =>
  new ProxyError('ERR_NO_CLUSTER', 503, 'NC', 'cluster_not_found', `cluster ${name} not found`);

export const noHealthyUpstream = (): ProxyError =>
  new ProxyError(
    'ERR_NO_HEALTHY_UPSTREAM',
    503,
    'UH',
    'no_healthy_upstream',
    'no healthy upstream',
  );

const RESET_PREFIX = 'upstream connect error or disconnect/reset before headers. reset reason: ';

export const connectFailure = (detail: string): ProxyError =>
  new ProxyError(
    'ERR_UPSTREAM_CONNECT',
    503,
    'UF',
    'upstream_reset_before_response_started{connection_failure}',
    `${RESET_PREFIX}connection failure, transport failure reason: ${detail}`,
  );

export const connectionTermination = (): ProxyError =>
  new ProxyError(
    'ERR_UPSTREAM_RESET',
    503,
    'UC',
    'upstream_reset_before_response_started{connection_termination}',
    `${RESET_PREFIX}connection termination`,
  );

export const upstreamOverflow = (): ProxyError =>
  new ProxyError(
    'ERR_UPSTREAM_OVERFLOW',
    503,
    'UO',
    'upstream_reset_before_response_started{overflow}',
    `${RESET_PREFIX}overflow`,
  );

export const upstreamTimeout = (): ProxyError =>
  new ProxyError(
    'ERR_UPSTREAM_TIMEOUT',
    504,
    'UT',
    // Envoy's ResponseCodeDetails::ResponseTimeout (the route's timeout).
    'response_timeout',
    'upstream request timeout',
  );

/** A per-try timeout (RetryPolicy.per_try_timeout) that ended the request: retries exhausted. */
export const upstreamPerTryTimeout = (): ProxyError =>
  new ProxyError(
    'ERR_PER_TRY_TIMEOUT',
    504,
    'UT',
    'upstream_per_try_timeout',
    'upstream request timeout',
  );

/** HTTP/2 REFUSED_STREAM from the upstream (the refused-stream retry condition). */
export const refusedStream = (): ProxyError =>
  new ProxyError(
    'ERR_UPSTREAM_REFUSED_STREAM',
    503,
    'UR',
    'upstream_reset_before_response_started{remote_refused_stream_reset}',
    `${RESET_PREFIX}remote refused stream reset`,
  );

/** Any other reset of the upstream stream by the peer (HTTP/2 RST_STREAM). */
export const remoteReset = (): ProxyError =>
  new ProxyError(
    'ERR_UPSTREAM_REMOTE_RESET',
    503,
    'UR',
    'upstream_reset_before_response_started{remote_reset}',
    `${RESET_PREFIX}remote reset`,
  );

export const badRequest = (detail: string): ProxyError =>
  new ProxyError('ERR_BAD_REQUEST', 400, 'DPE', detail, 'Bad Request');
