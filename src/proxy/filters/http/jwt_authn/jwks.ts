// A provider's JSON Web Key Set, compiled once per config: keys checked as jwt_verify_lib reads
// them, imported on first use (per key and alg) with jose, and the key choice Envoy makes for a
// token — kid and alg must not contradict the key's, the key type must suit the alg — before
// the signature is checked with each candidate.
import type { CryptoKey, JWK, KeyObject } from 'jose';
import type * as JoseModule from 'jose';
import { Status } from './status.js';
import type { ParsedJwt } from './token.js';

type Jose = typeof JoseModule;

interface JwksKey {
  readonly jwk: JWK;
  readonly kty: string;
  readonly kid: string | undefined;
  readonly alg: string | undefined;
  readonly crv: string | undefined;
  /** Imported keys by alg (WebCrypto keys are bound to one algorithm). */
  readonly imported: Map<string, Promise<CryptoKey | KeyObject | Uint8Array>>;
}

const CURVE_OF: Readonly<Record<string, string>> = {
  ES256: 'P-256',
  ES384: 'P-384',
  ES512: 'P-521',
};

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Whether a JWK has what its type needs; jwt_verify_lib skips keys that do not. */
function usable(k: Record<string, unknown>): boolean {
  switch (k['kty']) {
    case 'RSA':
      return typeof k['n'] === 'string' && typeof k['e'] === 'string';
    case 'EC':
      return typeof k['x'] === 'string' && typeof k['y'] === 'string';
    case 'oct':
      return typeof k['k'] === 'string';
    case 'OKP':
      return k['crv'] === 'Ed25519' && typeof k['x'] === 'string';
    default:
      return false;
  }
}

/** The key type (and curve) an alg needs. */
function suits(key: JwksKey, alg: string): boolean {
  const family = alg.slice(0, 2);
  if (family === 'RS' || family === 'PS') return key.kty === 'RSA';
  if (family === 'ES') return key.kty === 'EC' && (!key.crv || key.crv === CURVE_OF[alg]);
  if (family === 'HS') return key.kty === 'oct';
  return alg === 'EdDSA' && key.kty === 'OKP';
}

/**
 * jose, loaded with the first key a token needs: a proxy that never verifies a token (no
 * RequestAuthentication) does not carry it (about 8 MB of RSS, measured).
 */
let joseModule: Promise<Jose> | undefined;
const jose = (): Promise<Jose> => (joseModule ??= import('jose'));

export class CompiledJwks {
  private readonly keys: readonly JwksKey[];
  /** Why the set has no key (a parse error), when it has none. */
  readonly problem: string | undefined;

  constructor(text: string) {
    let keys: JwksKey[] = [];
    let problem: string | undefined;
    try {
      const doc = JSON.parse(text) as { keys?: unknown };
      if (!Array.isArray(doc.keys)) problem = 'Jwks does not have [keys] field';
      else
        keys = doc.keys
          .filter((k): k is Record<string, unknown> => k !== null && typeof k === 'object')
          .filter(usable)
          .map((k) => ({
            jwk: k as JWK,
            kty: String(k['kty']),
            kid: str(k['kid']),
            alg: str(k['alg']),
            crv: str(k['crv']),
            imported: new Map(),
          }));
    } catch (e) {
      problem = `Jwks is an invalid JSON: ${(e as Error).message}`;
    }
    if (!problem && keys.length === 0) problem = Status.JwksNoValidKeys;
    this.keys = keys;
    this.problem = problem;
  }

  get size(): number {
    return this.keys.length;
  }

  private importFor(key: JwksKey, alg: string): Promise<CryptoKey | KeyObject | Uint8Array> {
    let p = key.imported.get(alg);
    if (!p) {
      // `alg` and `use` of the JWK are checked by the selection; jose checks the rest.
      const { alg: _a, use: _u, key_ops: _k, ...jwk } = key.jwk;
      p = jose().then((j) => j.importJWK(jwk, alg));
      key.imported.set(alg, p);
    }
    return p;
  }

  /** Checks the token's signature: Ok, JwtVerificationFail, or JwksKidAlgMismatch. */
  async verify(jwt: ParsedJwt): Promise<Status> {
    if (this.keys.length === 0) return Status.JwksNoValidKeys;
    let found = false;
    for (const key of this.keys) {
      if (jwt.kid !== undefined && key.kid !== undefined && jwt.kid !== key.kid) continue;
      if (key.alg !== undefined && key.alg !== jwt.alg) continue;
      // jwt_verify_lib counts a key whose kid and alg agree as a match before its type: a key
      // of the wrong type then fails verification rather than matching nothing.
      found = true;
      if (!suits(key, jwt.alg)) continue;
      try {
        const { compactVerify } = await jose();
        await compactVerify(jwt.token, await this.importFor(key, jwt.alg), {
          algorithms: [jwt.alg],
        });
        return Status.Ok;
      } catch {
        // A bad signature under this key; another key with the same kid may still verify it.
      }
    }
    return found ? Status.JwtVerificationFail : Status.JwksKidAlgMismatch;
  }
}
