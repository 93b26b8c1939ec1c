// The requirement tree of one rule, compiled, and its evaluation as Envoy's jwt_authn verifier
// and authenticator run it: a provider checks every token at its locations (all must verify);
// requires_any passes when one child does, else fails with the last child's status;
// requires_all fails at the first child that fails; allow_missing passes when no token is there
// but still fails a token that is there and does not verify with the provider of its issuer.
import type { HttpStream } from '../../../http/stream.js';
import type { JwtAuthnConfig, Provider, Requirement } from './config.js';
import { Extractor } from './request.js';
import type { TokenLocation } from './request.js';
import { Status } from './status.js';
import type { ParsedJwt } from './token.js';
import { audiencesAllowed, checkTime, parseJwt } from './token.js';

export type VerifierNode =
  | {
      readonly kind: 'provider';
      readonly provider: Provider;
      readonly audiences: ReadonlySet<string> | undefined;
      readonly extractor: Extractor;
    }
  | { readonly kind: 'any' | 'all'; readonly list: readonly VerifierNode[] }
  | { readonly kind: 'allow_missing'; readonly orFailed: boolean; readonly extractor: Extractor }
  | { readonly kind: 'allow_all' };

/** What verifying a token needs besides the token. */
export interface VerifyHooks {
  readonly config: JwtAuthnConfig;
  readonly nowSec: number;
  /** Tokens that verified before, per provider (keyed by the token text). */
  cached(provider: Provider, token: string): ParsedJwt | undefined;
  remember(provider: Provider, jwt: ParsedJwt): void;
  /** A token verified: output its payload and claims, remove it unless forwarded. */
  good(provider: Provider, jwt: ParsedJwt, at: TokenLocation): void;
}

/**
 * Compiles a requirement. Inside requires_any, allow_missing (or allow_missing_or_failed, which
 * wins when both are there) runs last and reads the locations of its sibling providers.
 */
export function compileVerifier(
  r: Requirement,
  config: JwtAuthnConfig,
  siblings: readonly string[] = [],
): VerifierNode {
  const providerOf = (name: string) => config.providers.get(name) as Provider;
  switch (r.kind) {
    case 'provider': {
      const provider = providerOf(r.name);
      return {
        kind: 'provider',
        provider,
        audiences: r.audiences,
        extractor: new Extractor([provider]),
      };
    }
    case 'allow_missing':
      return {
        kind: 'allow_missing',
        orFailed: r.orFailed,
        extractor: new Extractor(siblings.map(providerOf)),
      };
    case 'allow_all':
      return { kind: 'allow_all' };
    case 'all':
      return { kind: 'all', list: r.list.map((x) => compileVerifier(x, config)) };
    case 'any': {
      const used = r.list.flatMap((x) => (x.kind === 'provider' ? [x.name] : []));
      const bypasses = r.list.filter((x) => x.kind === 'allow_missing');
      const bypass = bypasses.find((x) => x.kind === 'allow_missing' && x.orFailed) ?? bypasses[0];
      const list = r.list
        .filter((x) => x.kind !== 'allow_missing')
        .map((x) => compileVerifier(x, config));
      if (bypass) list.push(compileVerifier(bypass, config, used));
      return { kind: 'any', list };
    }
  }
}

/** Whether a location's providers accept this issuer ('' stands for any). */
const issuerAllowed = (issuers: ReadonlySet<string>, iss: string) =>
  issuers.has('') || issuers.has(iss);

/** The provider of an issuer for allow_missing: the first naming it, else one naming none. */
function providerByIssuer(config: JwtAuthnConfig, iss: string): Provider | undefined {
  let any: Provider | undefined;
  for (const p of config.providers.values()) {
    if (p.issuer === iss) return p;
    if (p.issuer === '') any ??= p;
  }
  return any;
}

async function verifyToken(
  at: TokenLocation,
  provider: Provider | undefined,
  audiences: ReadonlySet<string> | undefined,
  hooks: VerifyHooks,
  goods: (() => void)[],
): Promise<Status> {
  const cached = provider && hooks.cached(provider, at.token);
  const parsed = cached ?? parseJwt(at.token);
  if (typeof parsed === 'string') return parsed;
  if (!issuerAllowed(at.issuers, parsed.iss)) return Status.JwtUnknownIssuer;
  const p = provider ?? providerByIssuer(hooks.config, parsed.iss);
  if (!p) return Status.JwtUnknownIssuer;
  if (p.requireExpiration && !parsed.exp) return Status.JwtExpired;
  const time = checkTime(parsed, hooks.nowSec, p.clockSkewSec);
  if (time !== Status.Ok) return time;
  if (!audiencesAllowed(audiences ?? p.audiences, parsed.audiences))
    return Status.JwtAudienceNotAllowed;
  if (!cached) {
    const signature = await p.jwks.verify(parsed);
    if (signature !== Status.Ok) return signature;
    if (provider) hooks.remember(provider, parsed);
  }
  goods.push(() => hooks.good(p, parsed, at));
  return Status.Ok;
}

/**
 * Envoy's authenticator: no token is JwtMissed; otherwise tokens are checked last first and,
 * unless failures are allowed (allow_missing_or_failed, which then passes), the first failure
 * ends it. Two choices stricter than Envoy's code, for its documented contract ("failed if JWT
 * is presented but invalid") and Istio's (a request with an invalid token is rejected):
 * allow_missing fails on any failing token (Envoy lets the last one checked decide), and what a
 * good token changes (its removal, output headers) happens only when the whole check passes.
 * Otherwise, in Istio's any(P, allow_missing), a good header token let a bad `?access_token=`
 * through, or P removed both Authorization lines before failing on the bad one, leaving
 * allow_missing nothing to see.
 */
async function authenticate(
  tokens: readonly TokenLocation[],
  o: {
    provider?: Provider;
    audiences?: ReadonlySet<string> | undefined;
    allowMissing: boolean;
    allowFailed: boolean;
  },
  hooks: VerifyHooks,
): Promise<Status> {
  let status: Status = Status.JwtMissed;
  const goods: (() => void)[] = [];
  for (let i = tokens.length - 1; i >= 0; i--) {
    status = await verifyToken(tokens[i] as TokenLocation, o.provider, o.audiences, hooks, goods);
    if (status !== Status.Ok && !o.allowFailed) return status;
  }
  for (const apply of goods) apply();
  if (o.allowFailed || (o.allowMissing && status === Status.JwtMissed)) return Status.Ok;
  return status;
}

export async function runVerifier(
  node: VerifierNode,
  stream: HttpStream,
  hooks: VerifyHooks,
): Promise<Status> {
  switch (node.kind) {
    case 'allow_all':
      return Status.Ok;
    case 'provider':
      return authenticate(
        node.extractor.extract(stream),
        {
          provider: node.provider,
          audiences: node.audiences,
          allowMissing: false,
          allowFailed: false,
        },
        hooks,
      );
    case 'allow_missing':
      return authenticate(
        node.extractor.extract(stream),
        { allowMissing: true, allowFailed: node.orFailed },
        hooks,
      );
    case 'any': {
      let status: Status = Status.Ok;
      for (const child of node.list) {
        status = await runVerifier(child, stream, hooks);
        if (status === Status.Ok) return status;
      }
      return status;
    }
    case 'all':
      for (const child of node.list) {
        const status = await runVerifier(child, stream, hooks);
        if (status !== Status.Ok) return status;
      }
      return Status.Ok;
  }
}
