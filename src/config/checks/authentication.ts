// PeerAuthentication and RequestAuthentication meaning checks (istiod's
// ValidatePeerAuthentication, ValidateRequestAuthentication and validateJwtRule).
import { createPublicKey } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import type { PeerAuthenticationSpec, RequestAuthenticationSpec } from '../kinds.js';
import { checkDuration, checkOneSelectorKind, checkSelectorLabels } from './common.js';
import type { CheckContext } from './common.js';
import { checkTargetRefs } from './target-refs.js';

export function checkPeerAuthentication(spec: PeerAuthenticationSpec, ctx: CheckContext): void {
  const { report } = ctx;
  if (spec.selector)
    checkSelectorLabels(report, ['spec', 'selector', 'matchLabels'], spec.selector.matchLabels, [
      'spec',
      'selector',
    ]);
  const ports = spec.portLevelMtls;
  if (ports === undefined) return;
  // Port numbers are a workload's ports: a namespace- or mesh-wide policy has no workload to ask.
  if (Object.keys(spec.selector?.matchLabels ?? {}).length === 0) {
    report.error(
      ['spec', 'portLevelMtls'],
      'portLevelMtls needs a selector with matchLabels',
      'key',
    );
  }
  if (Object.keys(ports).length === 0)
    report.error(
      ['spec', 'portLevelMtls'],
      'portLevelMtls, when set, must list at least one port',
      'key',
    );
  for (const port of Object.keys(ports)) {
    const n = Number(port);
    if (!/^\d+$/.test(port) || n < 1 || n > 65535) {
      report.error(
        ['spec', 'portLevelMtls', port],
        `"${port}" is not a port number (1..65535)`,
        'key',
      );
    }
  }
}

const STRICT_HEADER = /^[-_A-Za-z0-9]+$/;

/**
 * What is wrong with an inline JWKS, as istiod's jwk.Parse finds it: not JSON, neither a key set
 * ({"keys": [...]}) nor one key, or a key whose members do not make a key of its `kty`.
 */
export function jwksProblem(text: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return `jwks is not valid JSON: ${(err as Error).message}`;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    return 'jwks must be a JSON Web Key Set ({"keys": [...]})';
  const set = doc as { keys?: unknown; kty?: unknown };
  const keys = set.keys === undefined && set.kty !== undefined ? [doc] : set.keys;
  if (!Array.isArray(keys)) return 'jwks must be a JSON Web Key Set ({"keys": [...]})';
  for (const [i, k] of keys.entries()) {
    const why = jwkProblem(k);
    if (why) return `jwks key ${i}: ${why}`;
  }
  return undefined;
}

function jwkProblem(k: unknown): string | undefined {
  if (k === null || typeof k !== 'object' || Array.isArray(k)) return 'not a JSON object';
  const jwk = k as Record<string, unknown>;
  const kty = jwk['kty'];
  if (kty === 'oct') return typeof jwk['k'] === 'string' ? undefined : 'oct key without "k"';
  if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP')
    return `unsupported key type (kty) ${JSON.stringify(kty)}`;
  try {
    createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch (err) {
    return `not a valid ${kty} key: ${(err as Error).message}`;
  }
  return undefined;
}

export function checkRequestAuthentication(
  spec: RequestAuthenticationSpec,
  ctx: CheckContext,
): void {
  const { report } = ctx;
  checkOneSelectorKind(report, spec);
  if (spec.selector)
    checkSelectorLabels(report, ['spec', 'selector', 'matchLabels'], spec.selector.matchLabels, [
      'spec',
      'selector',
    ]);
  checkTargetRefs(report, spec);
  (spec.jwtRules ?? []).forEach((rule, i) => {
    const at = ['spec', 'jwtRules', i];
    const jwksUri = rule.jwksUri ?? rule.jwks_uri;
    if (!rule.issuer && !jwksUri)
      report.error([...at, 'issuer'], 'issuer (or jwksUri) is required', 'key');
    if (rule.jwksUri !== undefined && rule.jwks_uri !== undefined) {
      report.error([...at, 'jwks_uri'], 'cannot set both jwksUri and jwks_uri', 'key');
    }
    if (jwksUri !== undefined && rule.jwks !== undefined) {
      report.error([...at, 'jwks'], 'cannot set both jwks and jwksUri', 'key');
    }
    if (jwksUri !== undefined) {
      const field = rule.jwksUri !== undefined ? 'jwksUri' : 'jwks_uri';
      if (!/^https?:\/\/[^/]/.test(jwksUri))
        report.error([...at, field], `jwksUri "${jwksUri}" must be an http:// or https:// URL`);
    }
    if (rule.jwks !== undefined) {
      const problem = jwksProblem(rule.jwks);
      if (problem) report.error([...at, 'jwks'], problem);
    }
    (rule.audiences ?? []).forEach((a, j) => {
      if (a === '') report.error([...at, 'audiences', j], 'audience must not be empty');
    });
    (rule.fromHeaders ?? []).forEach((h, j) => {
      if (!h.name)
        report.error([...at, 'fromHeaders', j, 'name'], 'header name is required', 'key');
    });
    (rule.fromParams ?? []).forEach((p, j) => {
      if (p === '')
        report.error([...at, 'fromParams', j], 'query parameter name must not be empty');
    });
    (rule.fromCookies ?? []).forEach((c, j) => {
      if (c === '') report.error([...at, 'fromCookies', j], 'cookie name must not be empty');
    });
    (rule.outputClaimToHeaders ?? []).forEach((o, j) => {
      if (!o.claim || !o.header)
        report.error(
          [...at, 'outputClaimToHeaders', j],
          'claim and header are both required',
          'key',
        );
      else if (!STRICT_HEADER.test(o.header)) {
        report.error(
          [...at, 'outputClaimToHeaders', j, 'header'],
          `invalid header name "${o.header}" (letters, digits, '-' and '_')`,
        );
      }
    });
    checkDuration(report, [...at, 'timeout'], rule.timeout);
  });
}
