// envoy.extensions.filters.http.ext_authz.v3.ExtAuthz (HTTP service only) → frozen settings:
// the authorizer's cluster, path prefix and timeout, which headers go to it and which of its
// answer's headers go upstream or back to the client, failure mode, and the dynamic metadata
// that enables it per request (Istio's filter_enabled_metadata).
import { ConfigError, inField } from '../../../config-error.js';
import { compileValueMatcher } from '../../../authz/matcher.js';
import type { Predicate } from '../../../routes/matchers.js';
import { compileStringMatcher } from '../../../routes/matchers.js';
import { durationMs } from '../../../routes/duration.js';
import { enumSchema } from '../../../../xds/wire/schema.js';

type Obj = Record<string, unknown>;

export const EXT_AUTHZ_TYPE = 'envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';

export interface ExtAuthzConfig {
  readonly cluster: string;
  /** The authority of check requests (the server_uri's host). */
  readonly authority: string;
  readonly pathPrefix: string;
  readonly timeoutMs: number;
  /** Request headers sent to the authorizer besides Envoy's always-sent ones; undefined: all. */
  readonly allowedHeaders: Predicate<string> | undefined;
  readonly headersToAdd: readonly (readonly [string, string])[];
  readonly allowedUpstreamHeaders: Predicate<string>;
  /** On denial; undefined: every header of the answer (Envoy's default). */
  readonly allowedClientHeaders: Predicate<string> | undefined;
  readonly allowedClientHeadersOnSuccess: Predicate<string>;
  readonly failureModeAllow: boolean;
  readonly statusOnError: number;
  /** filter_enabled_metadata: whether a request's dynamic metadata enables the check. */
  readonly enabledBy:
    | {
        readonly filter: string;
        readonly path: readonly string[];
        readonly value: Predicate<unknown>;
      }
    | undefined;
}

const NONE: Predicate<string> = () => false;

function listMatcher(m: Obj | undefined, field: string): Predicate<string> | undefined {
  if (!m) return undefined;
  const patterns = ((m['patterns'] as Obj[] | undefined) ?? []).map((p, i) =>
    compileStringMatcher(p, `${field}.patterns[${i}]`),
  );
  return (name) => patterns.some((p) => p(name));
}

/** envoy.type.v3.HttpStatus.code: a number, or its enum name once decoded (`Forbidden`). */
function statusCode(code: unknown): number {
  if (typeof code === 'number') return code;
  const n = Number(code);
  if (Number.isInteger(n)) return n;
  const v = enumSchema('envoy.type.v3.StatusCode')?.numbers.get(String(code));
  if (v === undefined)
    throw new ConfigError('status_on_error.code', `unknown status ${String(code)}`);
  return v;
}

export function compileExtAuthz(typed: Obj): ExtAuthzConfig {
  if (typed['grpc_service'])
    throw new ConfigError('grpc_service', 'only http_service authorizers are supported');
  const svc = typed['http_service'] as Obj | undefined;
  if (!svc) throw new ConfigError('http_service', 'required');
  const uri = (svc['server_uri'] as Obj | undefined) ?? {};
  const cluster = uri['cluster'];
  if (typeof cluster !== 'string' || !cluster)
    throw new ConfigError('http_service.server_uri.cluster', 'required');
  const m = /^[a-z]+:\/\/([^/]+)/i.exec(String(uri['uri'] ?? ''));
  const req = (svc['authorization_request'] as Obj | undefined) ?? {};
  const res = (svc['authorization_response'] as Obj | undefined) ?? {};
  const fem = typed['filter_enabled_metadata'] as Obj | undefined;
  const status = (typed['status_on_error'] as Obj | undefined)?.['code'];
  return Object.freeze({
    cluster,
    authority: m?.[1] ?? cluster,
    pathPrefix: String(svc['path_prefix'] ?? ''),
    timeoutMs:
      uri['timeout'] === undefined
        ? 200
        : durationMs(uri['timeout'], 'http_service.server_uri.timeout'),
    // ExtAuthz.allowed_headers (what Istio sets), or the older authorization_request one.
    allowedHeaders: typed['allowed_headers']
      ? listMatcher(typed['allowed_headers'] as Obj, 'allowed_headers')
      : listMatcher(
          req['allowed_headers'] as Obj | undefined,
          'authorization_request.allowed_headers',
        ),
    headersToAdd: ((req['headers_to_add'] as Obj[] | undefined) ?? []).map(
      (h) => [String(h['key'] ?? '').toLowerCase(), String(h['value'] ?? '')] as const,
    ),
    allowedUpstreamHeaders:
      listMatcher(
        res['allowed_upstream_headers'] as Obj | undefined,
        'authorization_response.allowed_upstream_headers',
      ) ?? NONE,
    allowedClientHeaders: listMatcher(
      res['allowed_client_headers'] as Obj | undefined,
      'authorization_response.allowed_client_headers',
    ),
    allowedClientHeadersOnSuccess:
      listMatcher(
        res['allowed_client_headers_on_success'] as Obj | undefined,
        'authorization_response.allowed_client_headers_on_success',
      ) ?? NONE,
    failureModeAllow: typed['failure_mode_allow'] === true,
    // Envoy's default status on error is 403 Forbidden.
    statusOnError: status === undefined ? 403 : statusCode(status),
    enabledBy: fem
      ? inField('filter_enabled_metadata', () => ({
          filter: String(fem['filter'] ?? ''),
          path: ((fem['path'] as Obj[] | undefined) ?? []).map((s) => String(s['key'] ?? '')),
          value: compileValueMatcher((fem['value'] as Obj | undefined) ?? {}, 'value'),
        }))
      : undefined,
  });
}
