// One HTTP route of a VirtualService (istiod's validateHTTPRoute and what it calls): what it
// does (route, redirect, directResponse, delegate), its matches, timeouts, retries, faults,
// mirrors, rewrites and CORS.
import type { VirtualServiceSpec } from '../kinds.js';
import type { FieldPath } from '../locate.js';
import type { Reporter } from '../report.js';
import {
  checkDuration,
  checkLabels,
  checkPercent,
  checkPort,
  checkRegex,
  checkStringMatch,
  isObject,
} from './common.js';
import {
  checkDestination,
  checkHeaderOperations,
  checkWeightedDestinations,
  headerNameProblem,
} from './destinations.js';
import { checkGatewayNames } from './gateway-names.js';
import { isDnsLabel } from './names.js';

type HTTPRoute = NonNullable<VirtualServiceSpec['http']>[number];
type HTTPMatch = NonNullable<HTTPRoute['match']>[number];

/** Envoy's retry-on policies (x-envoy-retry-on and x-envoy-retry-grpc-on), as istiod lists them. */
const RETRY_ON = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'envoy-ratelimited',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
]);

const GRPC_STATUS = new Set(
  'OK CANCELLED UNKNOWN INVALID_ARGUMENT DEADLINE_EXCEEDED NOT_FOUND ALREADY_EXISTS PERMISSION_DENIED RESOURCE_EXHAUSTED FAILED_PRECONDITION ABORTED OUT_OF_RANGE UNIMPLEMENTED INTERNAL UNAVAILABLE DATA_LOSS UNAUTHENTICATED'.split(
    ' ',
  ),
);

const CORS_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  '*',
]);
const CLAIM_PREFIX = '@request.auth.claims.';
const PSEUDO_HEADERS = new Set([':method', ':scheme', ':authority', ':path', ':status']);

export interface HttpRouteOptions {
  /** The VirtualService applies to gateways only (not `mesh`): JWT claim routing is allowed. */
  readonly gatewayOnly: boolean;
}

export function checkHttpRoute(
  report: Reporter,
  path: FieldPath,
  r: HTTPRoute,
  opts: HttpRouteOptions,
): void {
  checkWhatItDoes(report, path, r);
  (r.match ?? []).forEach((m, j) => checkMatch(report, [...path, 'match', j], m, opts));
  checkWeightedDestinations(report, [...path, 'route'], r.route);
  if (r.headers) checkHeaderOperations(report, [...path, 'headers'], r.headers);
  checkDuration(report, [...path, 'timeout'], r.timeout);
  checkRetries(report, [...path, 'retries'], r.retries);
  checkFault(report, [...path, 'fault'], r.fault);
  checkRedirect(report, [...path, 'redirect'], r);
  checkRewrite(report, [...path, 'rewrite'], r.rewrite);
  checkMirrors(report, path, r);
  checkCors(report, [...path, 'corsPolicy'], r.corsPolicy);
  if (r.directResponse) {
    const status = r.directResponse.status;
    if (status < 200 || status > 599) {
      report.error(
        [...path, 'directResponse', 'status'],
        `HTTP status ${status} is not in range 200..599`,
      );
    }
    const body = r.directResponse.body;
    const size = body ? Buffer.byteLength(body.string ?? body.bytes ?? '') : 0;
    if (size > 1024 * 1024)
      report.error([...path, 'directResponse', 'body'], 'body must be smaller than 1MB', 'key');
    else if (size > 100 * 1024)
      report.warn(
        [...path, 'directResponse', 'body'],
        'large bodies slow down config pushes',
        'key',
      );
  }
}

type RoutePart = 'route' | 'redirect' | 'directResponse' | 'fault' | 'rewrite' | 'delegate';

/**
 * A route does exactly one thing: forward (route), redirect, respond directly, or delegate;
 * faults and rewrites only make sense when it forwards (istiod's validateHTTPRouteConflict).
 */
function checkWhatItDoes(report: Reporter, path: FieldPath, r: HTTPRoute): void {
  const has = (k: RoutePart): boolean =>
    k === 'route' ? (r.route?.length ?? 0) > 0 : r[k] !== undefined;
  const exclusive: [RoutePart, RoutePart][] = [
    ['delegate', 'route'],
    ['delegate', 'redirect'],
    ['redirect', 'route'],
    ['redirect', 'directResponse'],
    ['redirect', 'fault'],
    ['redirect', 'rewrite'],
    ['directResponse', 'route'],
    ['directResponse', 'fault'],
    ['directResponse', 'rewrite'],
  ];
  for (const [a, b] of exclusive) {
    if (has(a) && has(b)) report.error([...path, b], `cannot set both ${a} and ${b}`, 'key');
  }
  if (!has('route') && !has('redirect') && !has('directResponse') && !has('delegate')) {
    report.error(path, 'one of route, redirect, directResponse or delegate is required', 'key');
  }
}

function checkMatch(report: Reporter, path: FieldPath, m: HTTPMatch, opts: HttpRouteOptions): void {
  if (!isObject(m)) return;
  checkStringMatch(report, [...path, 'uri'], m.uri, { allowEmptyPrefix: true });
  checkStringMatch(report, [...path, 'scheme'], m.scheme);
  checkStringMatch(report, [...path, 'method'], m.method);
  checkStringMatch(report, [...path, 'authority'], m.authority);
  for (const field of ['headers', 'withoutHeaders'] as const) {
    for (const [name, value] of Object.entries(m[field] ?? {})) {
      const at = [...path, field, name];
      if (name.startsWith(CLAIM_PREFIX)) {
        if (!opts.gatewayOnly) {
          report.error(
            at,
            'routing on JWT claims is only supported for VirtualServices bound to gateways',
            'key',
          );
        }
      } else if (!PSEUDO_HEADERS.has(name)) {
        const problem = headerNameProblem(name);
        if (problem) report.error(at, problem, 'key');
      }
      // An empty match, or a `regex: "*"` in withoutHeaders, tests for the header's presence.
      if (!isObject(value) || Object.keys(value).length === 0) continue;
      if (field === 'withoutHeaders' && value.regex === '*') continue;
      checkStringMatch(report, at, value);
    }
  }
  for (const [name, value] of Object.entries(m.queryParams ?? {})) {
    if (isObject(value) && Object.keys(value).length > 0)
      checkStringMatch(report, [...path, 'queryParams', name], value);
  }
  if (m.port !== undefined) checkPort(report, [...path, 'port'], m.port);
  checkLabels(report, [...path, 'sourceLabels'], m.sourceLabels);
  checkGatewayNames(report, [...path, 'gateways'], m.gateways);
  if (m.sourceNamespace !== undefined && !isDnsLabel(m.sourceNamespace)) {
    report.error([...path, 'sourceNamespace'], `invalid namespace "${m.sourceNamespace}"`);
  }
}

function checkRetries(report: Reporter, path: FieldPath, retries: HTTPRoute['retries']): void {
  if (!retries) return;
  const attempts = retries.attempts ?? 0;
  if (attempts < 0) report.error([...path, 'attempts'], 'attempts cannot be negative');
  if (attempts === 0 && (retries.perTryTimeout !== undefined || retries.retryOn !== undefined)) {
    report.error(
      [...path, 'attempts'],
      'retries are configured but attempts is 0 (retries disabled); set attempts',
      'key',
    );
  }
  checkDuration(report, [...path, 'perTryTimeout'], retries.perTryTimeout);
  checkDuration(report, [...path, 'backoff'], retries.backoff);
  if (retries.retryOn !== undefined) {
    for (const policy of retries.retryOn.split(',')) {
      const p = policy.trim();
      const status = /^\d{3}$/.test(p) && Number(p) >= 100 && Number(p) <= 599;
      if (!status && !RETRY_ON.has(p)) {
        report.error(
          [...path, 'retryOn'],
          `"${p}" is not a valid retryOn policy (e.g. 5xx, gateway-error, connect-failure, reset, 503)`,
        );
      }
    }
  }
}

function checkFault(report: Reporter, path: FieldPath, fault: HTTPRoute['fault']): void {
  if (!fault) return;
  if (!fault.abort && !fault.delay) report.error(path, 'fault needs an abort or a delay', 'key');
  const { delay, abort } = fault;
  if (delay) {
    checkDuration(report, [...path, 'delay', 'fixedDelay'], delay.fixedDelay);
    if (delay.exponentialDelay !== undefined) {
      report.error(
        [...path, 'delay', 'exponentialDelay'],
        'exponentialDelay is not supported (use fixedDelay)',
        'key',
      );
    }
    if (delay.fixedDelay === undefined && delay.exponentialDelay === undefined) {
      report.error([...path, 'delay', 'fixedDelay'], 'a delay needs fixedDelay', 'key');
    }
    checkPercent(report, [...path, 'delay', 'percentage', 'value'], delay.percentage?.value);
    checkPercent(report, [...path, 'delay', 'percent'], delay.percent);
  }
  if (abort) {
    checkPercent(report, [...path, 'abort', 'percentage', 'value'], abort.percentage?.value);
    if (abort.httpStatus !== undefined && (abort.httpStatus < 200 || abort.httpStatus > 599)) {
      report.error(
        [...path, 'abort', 'httpStatus'],
        `HTTP status ${abort.httpStatus} is not in range 200..599`,
      );
    } else if (abort.grpcStatus !== undefined && !GRPC_STATUS.has(abort.grpcStatus)) {
      report.error(
        [...path, 'abort', 'grpcStatus'],
        `unknown gRPC status "${abort.grpcStatus}" (use a name such as UNAVAILABLE or NOT_FOUND)`,
      );
    } else if (abort.http2Error !== undefined) {
      report.error([...path, 'abort', 'http2Error'], 'http2Error aborts are not supported', 'key');
    } else if (abort.httpStatus === undefined && abort.grpcStatus === undefined) {
      report.warn(
        [...path, 'abort'],
        'abort has no httpStatus or grpcStatus: it does nothing',
        'key',
      );
    }
  }
}

function checkRedirect(report: Reporter, path: FieldPath, r: HTTPRoute): void {
  const redirect = r.redirect;
  if (!redirect) return;
  const { uri, authority, port, derivePort, scheme, redirectCode } = redirect;
  if (
    uri === undefined &&
    authority === undefined &&
    port === undefined &&
    derivePort === undefined &&
    scheme === undefined
  ) {
    report.error(path, 'redirect must set uri, authority, scheme or port', 'key');
  }
  if (redirectCode !== undefined && (redirectCode < 300 || redirectCode > 399)) {
    report.error([...path, 'redirectCode'], `${redirectCode} is not a redirect code (use 3xx)`);
  }
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') {
    report.error(
      [...path, 'scheme'],
      `redirect scheme must be "http" or "https" (got "${scheme}")`,
    );
  }
  if (port !== undefined) checkPort(report, [...path, 'port'], port);
}

function checkRewrite(report: Reporter, path: FieldPath, rewrite: HTTPRoute['rewrite']): void {
  if (!rewrite) return;
  const regex = rewrite.uriRegexRewrite;
  if (rewrite.uri !== undefined && regex)
    report.error([...path, 'uriRegexRewrite'], 'cannot set both uri and uriRegexRewrite', 'key');
  if (rewrite.uri === undefined && !regex && rewrite.authority === undefined) {
    report.error(path, 'rewrite must set uri, uriRegexRewrite or authority', 'key');
  }
  if (regex) {
    if (!regex.match || regex.rewrite === undefined) {
      report.error(
        [...path, 'uriRegexRewrite'],
        'uriRegexRewrite needs both match and rewrite',
        'key',
      );
    }
    if (regex.match) checkRegex(report, [...path, 'uriRegexRewrite', 'match'], regex.match);
  }
}

function checkMirrors(report: Reporter, path: FieldPath, r: HTTPRoute): void {
  if (r.mirror && (r.mirrors?.length ?? 0) > 0)
    report.error([...path, 'mirrors'], 'cannot set both mirror and mirrors', 'key');
  checkDestination(report, [...path, 'mirror'], r.mirror);
  checkPercent(report, [...path, 'mirrorPercentage', 'value'], r.mirrorPercentage?.value);
  if (r.mirrorPercent !== undefined) {
    checkPercent(report, [...path, 'mirrorPercent'], r.mirrorPercent);
    report.warn(
      [...path, 'mirrorPercent'],
      'mirrorPercent is deprecated; use mirrorPercentage',
      'key',
    );
  }
  (r.mirrors ?? []).forEach((m, i) => {
    if (!m.destination)
      report.error([...path, 'mirrors', i, 'destination'], 'destination is required', 'key');
    checkDestination(report, [...path, 'mirrors', i, 'destination'], m.destination);
    checkPercent(report, [...path, 'mirrors', i, 'percentage', 'value'], m.percentage?.value);
  });
}

function checkCors(report: Reporter, path: FieldPath, cors: HTTPRoute['corsPolicy']): void {
  if (!cors) return;
  (cors.allowOrigins ?? []).forEach((o, i) => {
    const at = [...path, 'allowOrigins', i];
    if ((o.exact ?? o.prefix ?? o.regex ?? '') === '')
      report.error(at, 'an allowed origin must not be empty', 'key');
    else checkStringMatch(report, at, o);
  });
  if (cors.allowOrigin !== undefined) {
    report.warn([...path, 'allowOrigin'], 'allowOrigin is deprecated; use allowOrigins', 'key');
  }
  (cors.allowMethods ?? []).forEach((m, i) => {
    if (!CORS_METHODS.has(m))
      report.error([...path, 'allowMethods', i], `"${m}" is not a supported HTTP method`);
  });
  for (const field of ['allowHeaders', 'exposeHeaders'] as const) {
    (cors[field] ?? []).forEach((h, i) => {
      const problem = h === '*' ? undefined : headerNameProblem(h);
      if (problem) report.error([...path, field, i], problem);
    });
  }
  checkDuration(report, [...path, 'maxAge'], cors.maxAge);
}
