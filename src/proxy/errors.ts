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
  | 'UAEX'; // unauthorized (external authorization)

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
    'upstream_response_timeout',
    'upstream request timeout',
  );

export const badRequest = (detail: string): ProxyError =>
  new ProxyError('ERR_BAD_REQUEST', 400, 'DPE', detail, 'Bad Request');
