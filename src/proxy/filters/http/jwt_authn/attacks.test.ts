// jwt_authn against tokens that must not pass: algorithm confusion, key choice, time claims with
// the clock skew, several tokens in one request, and the verified-token cache (a cached token
// must still expire).
import assert from 'node:assert/strict';
import { createHmac, createPublicKey } from 'node:crypto';
import { before, describe, it, mock } from 'node:test';
import type { JWK } from 'jose';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import type { HttpStream } from '../../../http/stream.js';
import { routedStream } from '../testing.js';
import type { LocalReply } from '../types.js';
import { compileJwtAuthn } from './config.js';
import { JwtAuthnFilter } from './filter.js';

type Obj = Record<string, unknown>;

let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
let rsaJwk: JWK;
const now = () => Math.floor(Date.now() / 1000);

before(async () => {
  rsa = await generateKeyPair('RS256', { extractable: true });
  rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'k1' };
});

/** Istio's config for one rule: any(provider, allow_missing). */
function config(jwks: JWK[], p: Obj = {}): Obj {
  return {
    providers: {
      'origins-0': {
        issuer: 'iss',
        local_jwks: { inline_string: JSON.stringify({ keys: jwks }) },
        ...p,
      },
    },
    rules: [
      {
        match: { prefix: '/' },
        requires: {
          requires_any: { requirements: [{ provider_name: 'origins-0' }, { allow_missing: {} }] },
        },
      },
    ],
  };
}

/** A request; raw header lines are given as sent (names in any case, repeats kept apart). */
function stream(raw: [string, string][] = [], query = ''): HttpStream {
  const headers: Record<string, string> = {};
  for (const [k, v] of raw) {
    const key = k.toLowerCase();
    headers[key] = headers[key] === undefined ? v : `${headers[key]}, ${v}`;
  }
  const s = routedStream([{ match: { prefix: '/' }, route: { cluster: 'c' } }], {
    headers,
    query,
    path: '/p',
  });
  for (const [k, v] of raw) s.req.rawHeaders.push(k, v);
  return s;
}

const sign = (claims: Obj, header: Obj = { alg: 'RS256', kid: 'k1' }) =>
  new SignJWT({ iss: 'iss', sub: 'u', ...claims })
    .setProtectedHeader(header as { alg: string })
    .sign(rsa.privateKey);

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A token MACed by hand (jose refuses to use a public key as an HMAC secret). */
function hmacToken(secret: Buffer | string, header: Obj = { alg: 'HS256', kid: 'k1' }): string {
  const input = `${b64(header)}.${b64({ iss: 'iss', sub: 'admin', exp: now() + 600 })}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

async function status(
  f: JwtAuthnFilter | Obj,
  s: HttpStream,
): Promise<number | 'passed' | undefined> {
  const filter = f instanceof JwtAuthnFilter ? f : new JwtAuthnFilter(compileJwtAuthn(f), 'p');
  const reply: LocalReply | undefined = await filter.onRequest(s);
  return reply ? reply.status : 'passed';
}

const bearer = (t: string): [string, string] => ['authorization', `Bearer ${t}`];

describe('jwt_authn refuses', () => {
  it('algorithm confusion: HS256 keyed with the RSA public key, alg none, alg not the key’s', async () => {
    const cfg = config([rsaJwk]);
    const pem = await exportSPKI(rsa.publicKey);
    const der = createPublicKey(pem).export({ format: 'der', type: 'spki' });
    for (const secret of [pem, der, Buffer.from(String(rsaJwk.n), 'base64url')])
      assert.equal(await status(cfg, stream([bearer(hmacToken(secret))])), 401);
    const none = `${b64({ alg: 'none' })}.${b64({ iss: 'iss', sub: 'admin' })}.`;
    assert.equal(await status(cfg, stream([bearer(none)])), 401);
    assert.equal(await status(cfg, stream([bearer(none + 'x')])), 401);
    // A key that names its alg is used for that alg only.
    const pinned = config([{ ...rsaJwk, alg: 'RS384' }]);
    assert.equal(await status(pinned, stream([bearer(await sign({}))])), 401);
    // A key whose kid differs is not tried; one without a kid is.
    assert.equal(
      await status(cfg, stream([bearer(await sign({}, { alg: 'RS256', kid: 'k2' }))])),
      401,
    );
    const { kid: _kid, ...anonymous } = rsaJwk;
    const noKid = config([anonymous]);
    assert.equal(
      await status(noKid, stream([bearer(await sign({}, { alg: 'RS256', kid: 'k2' }))])),
      'passed',
    );
  });

  it('tokens outside their time, with the clock skew (60 s unless set)', async () => {
    const cfg = config([rsaJwk]);
    const t = now();
    const cases: [Obj, number | 'passed'][] = [
      [{ exp: t - 120 }, 401],
      [{ exp: t - 30 }, 'passed'],
      [{ nbf: t + 120 }, 401],
      [{ nbf: t + 30 }, 'passed'],
      // No exp: valid, as Istio does not set require_expiration.
      [{}, 'passed'],
      [{ exp: 'tomorrow' }, 401],
      [{ iat: 'today' }, 401],
      [{ jti: 7 }, 401],
    ];
    for (const [claims, want] of cases)
      assert.equal(
        await status(cfg, stream([bearer(await sign(claims))])),
        want,
        JSON.stringify(claims),
      );
    const strict = config([rsaJwk], { clock_skew_seconds: 5 });
    assert.equal(await status(strict, stream([bearer(await sign({ exp: t - 30 }))])), 401);
    const needsExp = config([rsaJwk], { require_expiration: true });
    assert.equal(await status(needsExp, stream([bearer(await sign({}))])), 401);
  });

  it('a request whose tokens are not all good, in any order and any header case', async () => {
    const cfg = config([rsaJwk]);
    const good = await sign({ exp: now() + 600 });
    const bad = await sign({ exp: now() - 600 });
    // Header and ?access_token= (the default locations), good and bad either way round: before
    // allow_missing checked every token, a good header token let the bad parameter through.
    assert.equal(await status(cfg, stream([bearer(good)], `access_token=${bad}`)), 401);
    assert.equal(await status(cfg, stream([bearer(bad)], `access_token=${good}`)), 401);
    // Two Authorization lines.
    assert.equal(await status(cfg, stream([bearer(good), bearer(bad)])), 401);
    assert.equal(await status(cfg, stream([bearer(bad), bearer(good)])), 401);
    // The header name's case does not hide a token.
    assert.equal(await status(cfg, stream([['AUTHORIZATION', `Bearer ${bad}`]])), 401);
    const both = stream([['Authorization', `Bearer ${good}`]], `access_token=${good}`);
    assert.equal(await status(cfg, both), 'passed');
    assert.equal(both.requestAuth?.principal, 'iss/u');
  });

  it('a cached token once it expires, and the cache is per provider', async () => {
    const filter = new JwtAuthnFilter(compileJwtAuthn(config([rsaJwk])), 'p');
    const t = await sign({ exp: now() + 100 });
    assert.equal(await status(filter, stream([bearer(t)])), 'passed');
    assert.equal(await status(filter, stream([bearer(t)])), 'passed');
    assert.equal(filter.stats.get('jwt_cache_hit'), 1, 'the second request used the cache');
    const later = Date.now() + 200_000;
    mock.method(Date, 'now', () => later);
    try {
      assert.equal(await status(filter, stream([bearer(t)])), 401, 'expired while cached');
    } finally {
      mock.restoreAll();
    }
    // Another config (new keys) starts with an empty cache: the old keys' token fails there.
    const other = await generateKeyPair('RS256');
    const rotated = new JwtAuthnFilter(
      compileJwtAuthn(config([{ ...(await exportJWK(other.publicKey)), kid: 'k1' }])),
      'p',
    );
    assert.equal(await status(rotated, stream([bearer(t)])), 401);
  });
});
