// PeerAuthentication and RequestAuthentication meaning checks (istiod's
// ValidatePeerAuthentication, ValidateRequestAuthentication and validateJwtRule).
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
      let keys: unknown;
      try {
        keys = (JSON.parse(rule.jwks) as { keys?: unknown }).keys;
      } catch (err) {
        report.error([...at, 'jwks'], `jwks is not valid JSON: ${(err as Error).message}`);
      }
      if (keys !== undefined && !Array.isArray(keys))
        report.error([...at, 'jwks'], 'jwks must be a JSON Web Key Set ({"keys": [...]})');
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
