// A JWT split and decoded before any key is looked at (RFC 7519 §7.2), with the checks Envoy's
// jwt_verify_lib makes in Jwt::parseFromString and verifyTimeConstraint, each failing with its
// own Status so the answer says what was wrong.
import { Status } from './status.js';

/** The `alg` values Envoy's JWT filter supports. */
export const SUPPORTED_ALGS: ReadonlySet<string> = new Set([
  'ES256',
  'ES384',
  'ES512',
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
]);

export interface ParsedJwt {
  readonly token: string;
  readonly alg: string;
  readonly kid: string | undefined;
  /** The payload segment as sent (base64url, no padding): forward_payload_header's value. */
  readonly payloadBase64url: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly iss: string;
  readonly sub: string;
  readonly audiences: readonly string[];
  /** Seconds since the epoch; 0 when absent. */
  readonly exp: number;
  readonly nbf: number;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function decodeJson(segment: string): Record<string, unknown> | undefined {
  if (!BASE64URL.test(segment)) return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** A NumericDate claim (RFC 7519 §2); undefined when present but not a non-negative number. */
function numericDate(v: unknown): number | undefined {
  if (v === undefined) return 0;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
}

export function parseJwt(token: string): ParsedJwt | Status {
  const parts = token.split('.');
  if (parts.length !== 3) return Status.JwtBadFormat;
  const [h = '', p = '', s = ''] = parts;
  const header = decodeJson(h);
  if (!header) return Status.JwtHeaderParseError;
  const alg = header['alg'];
  if (typeof alg !== 'string') return Status.JwtHeaderBadAlg;
  if (!SUPPORTED_ALGS.has(alg)) return Status.JwtHeaderNotImplementedAlg;
  const kid = header['kid'];
  if (kid !== undefined && typeof kid !== 'string') return Status.JwtHeaderBadKid;
  const payload = decodeJson(p);
  if (!payload) return Status.JwtPayloadParseError;
  const { iss = '', sub = '', aud } = payload;
  if (typeof iss !== 'string' || typeof sub !== 'string') return Status.JwtPayloadParseError;
  let audiences: string[];
  if (aud === undefined) audiences = [];
  else if (typeof aud === 'string') audiences = [aud];
  else if (Array.isArray(aud) && aud.every((a) => typeof a === 'string')) audiences = aud;
  else return Status.JwtPayloadParseError;
  const exp = numericDate(payload['exp']);
  const nbf = numericDate(payload['nbf']);
  if (exp === undefined || nbf === undefined) return Status.JwtPayloadParseError;
  // jwt_verify_lib also refuses an `iat` that is no number and a `jti` that is no string.
  const jti = payload['jti'];
  if (numericDate(payload['iat']) === undefined || (jti !== undefined && typeof jti !== 'string'))
    return Status.JwtPayloadParseError;
  if (!BASE64URL.test(s) || s === '') return Status.JwtSignatureParseError;
  return Object.freeze({
    token,
    alg,
    kid,
    payloadBase64url: p,
    payload,
    iss,
    sub,
    audiences,
    exp,
    nbf,
  });
}

/** nbf and exp against now (seconds), each with the clock skew allowance. */
export function checkTime(jwt: ParsedJwt, nowSec: number, skewSec: number): Status {
  if (jwt.nbf && nowSec + skewSec < jwt.nbf) return Status.JwtNotYetValid;
  if (jwt.exp && nowSec > jwt.exp + skewSec) return Status.JwtExpired;
  return Status.Ok;
}

/**
 * An audience as jwt_verify_lib's CheckAudience compares them: without an http:// or https://
 * scheme and without a trailing slash.
 */
export function sanitizeAudience(aud: string): string {
  let a = aud;
  if (a.startsWith('http://')) a = a.slice(7);
  else if (a.startsWith('https://')) a = a.slice(8);
  return a.endsWith('/') ? a.slice(0, -1) : a;
}

/** Any of the token's audiences allowed (an empty allowed set allows every token). */
export function audiencesAllowed(
  allowed: ReadonlySet<string>,
  audiences: readonly string[],
): boolean {
  if (allowed.size === 0) return true;
  return audiences.some((a) => allowed.has(sanitizeAudience(a)));
}
