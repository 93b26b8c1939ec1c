// Bootstrap tokens: short-lived JWTs (HS256) that bind a proxy to one namespace and service
// account, minted by the launcher (or `skiff token`) and checked by the CA before it signs the
// first certificate. The HMAC key lives in `<state>/ca/token-key` (0600).
//
// Why HMAC: the only verifier is the control plane, and every minter (the launcher, `skiff token`)
// runs on its host with its state directory; a shared secret read from a 0600 file is the whole
// trust model, and a public key would buy nothing. Istio's equivalent is a Kubernetes projected
// service-account token (audience `istio-ca`, subject `system:serviceaccount:<ns>:<sa>`), whose
// claims these tokens mirror.
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { jwtVerify, errors } from 'jose';

export const TOKEN_KEY_FILE = 'token-key';
/** Istio's CA audience for workload tokens. */
export const TOKEN_AUDIENCE = 'istio-ca';
const ISSUER = 'skiff';
/** Long enough for a proxy to start and ask once; restarts re-mint. */
export const DEFAULT_TOKEN_TTL_MS = 3600_000;

export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

export interface TokenIdentity {
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** The key in `<caDir>/token-key`, created (0600, exclusively) when absent. */
export function loadOrCreateTokenKey(caDir: string): Uint8Array {
  const file = path.join(caDir, TOKEN_KEY_FILE);
  try {
    return readKey(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(caDir, { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process (the launcher, the control plane) made it first: use theirs.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readKey(file);
}

function readKey(file: string): Uint8Array {
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length < 32) throw new TokenError(`${file}: the token key is shorter than 32 bytes`);
  return key;
}

/** Kubernetes' service-account subject, `system:serviceaccount:<ns>:<sa>`. */
export function tokenSubject(id: TokenIdentity): string {
  return `system:serviceaccount:${id.namespace}:${id.serviceAccount}`;
}

/**
 * A signed token for `id` (HS256, RFC 7519). Synchronous with node:crypto, so the launcher can
 * mint one right before it spawns a proxy; verification uses jose.
 */
export function mintToken(
  key: Uint8Array,
  id: TokenIdentity,
  ttlMs = DEFAULT_TOKEN_TTL_MS,
  now = Date.now(),
): string {
  const iat = Math.floor(now / 1000);
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({
    iss: ISSUER,
    aud: TOKEN_AUDIENCE,
    sub: tokenSubject(id),
    iat,
    exp: iat + Math.max(1, Math.ceil(ttlMs / 1000)),
    namespace: id.namespace,
    serviceAccount: id.serviceAccount,
  });
  const sig = createHmac('sha256', key).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** The identity a token proves; throws TokenError when it is invalid or expired. */
export async function verifyToken(
  key: Uint8Array,
  token: string,
  now = Date.now(),
): Promise<TokenIdentity> {
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: TOKEN_AUDIENCE,
      currentDate: new Date(now),
    });
    const ns = payload['namespace'];
    const sa = payload['serviceAccount'];
    if (typeof ns !== 'string' || typeof sa !== 'string' || !ns || !sa) {
      throw new TokenError('the token names no namespace and service account');
    }
    if (payload.sub !== tokenSubject({ namespace: ns, serviceAccount: sa })) {
      throw new TokenError('the token subject does not match its namespace and service account');
    }
    return { namespace: ns, serviceAccount: sa };
  } catch (err) {
    if (err instanceof TokenError) throw err;
    if (err instanceof errors.JWTExpired) throw new TokenError('the bootstrap token has expired');
    throw new TokenError(`the bootstrap token is invalid: ${(err as Error).message}`);
  }
}
