// jwt_authn per request: locations, issuers, time, audiences, signatures, requirement trees as
// Istio generates them, and what a good token changes in the request.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { JWK } from 'jose';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { HttpStream } from '../../../http/stream.js';
import { routedStream } from '../testing.js';
import type { LocalReply } from '../types.js';
import { JwtAuthnFilter, claimValue } from './filter.js';
import { compileJwtAuthn } from './config.js';

type Obj = Record<string, unknown>;

let jwks: string;
let other: string;
let sign: (
  claims: Obj,
  o?: { kid?: string; expSec?: number; wrongKey?: boolean },
) => Promise<string>;

before(async () => {
  const a = await generateKeyPair('RS256');
  const b = await generateKeyPair('ES256');
  const c = await generateKeyPair('RS256');
  const ja: JWK = { ...(await exportJWK(a.publicKey)), kid: 'a', alg: 'RS256' };
  const jb: JWK = { ...(await exportJWK(b.publicKey)), kid: 'b' };
  jwks = JSON.stringify({ keys: [ja] });
  other = JSON.stringify({ keys: [jb] });
  sign = async (claims, o = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: o.kid ?? 'a' })
      .setIssuedAt(now)
      .setExpirationTime(now + (o.expSec ?? 3600))
      .sign(o.wrongKey ? c.privateKey : a.privateKey);
  };
});

/** Istio's filter config for providers (one rule each), as generate/jwt-authn.ts writes it. */
function istioConfig(providers: Obj[]): Obj {
  const names = providers.map((_, i) => `origins-${i}`);
  const inner = names.map((n) => ({
    requires_any: { requirements: [{ provider_name: n }, { allow_missing: {} }] },
  }));
  const requires =
    inner.length === 1
      ? inner[0]
      : {
          requires_any: {
            requirements: [
              ...names.map((n) => ({ provider_name: n })),
              { requires_all: { requirements: inner } },
            ],
          },
        };
  return {
    providers: Object.fromEntries(
      providers.map((p, i) => [
        names[i],
        { payload_in_metadata: 'payload', local_jwks: { inline_string: jwks }, ...p },
      ]),
    ),
    rules: [{ match: { prefix: '/' }, requires }],
    bypass_cors_preflight: true,
  };
}

function stream(headers: Record<string, string> = {}, query = '', method = 'GET'): HttpStream {
  const s = routedStream([{ match: { prefix: '/' }, route: { cluster: 'c' } }], {
    headers: { ...headers },
    query,
    method,
    path: '/p',
  });
  for (const [k, v] of Object.entries(headers)) s.req.rawHeaders.push(k, v);
  return s;
}

async function run(config: Obj, s: HttpStream): Promise<LocalReply | undefined> {
  return new JwtAuthnFilter(compileJwtAuthn(config), 'p').onRequest(s);
}

const one = (p: Obj = {}) => istioConfig([{ issuer: 'iss-a', ...p }]);
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('jwt_authn', () => {
  it('passes a request without a token, and a good token with its identity', async () => {
    assert.equal(await run(one(), stream()), undefined);
    const s = stream(bearer(await sign({ iss: 'iss-a', sub: 'u1', aud: 'x', azp: 'cli' })));
    assert.equal(await run(one(), s), undefined);
    assert.equal(s.requestAuth?.principal, 'iss-a/u1');
    assert.deepEqual(s.requestAuth?.audiences, ['x']);
    assert.equal(s.requestAuth?.presenter, 'cli');
    assert.equal(s.req.headers['authorization'], undefined, 'token removed');
    assert.equal(s.req.rawHeaders.length, 0);
  });

  it('answers 401 with Envoy’s messages for bad tokens', async () => {
    const cases: [Promise<string> | string, string][] = [
      [sign({ iss: 'iss-a' }, { expSec: -3600 }), 'Jwt is expired'],
      [sign({ iss: 'nobody' }), 'Jwt issuer is not configured'],
      [sign({ iss: 'iss-a' }, { wrongKey: true }), 'Jwt verification fails'],
      [sign({ iss: 'iss-a' }, { kid: 'zz' }), "Jwks doesn't have key to match kid or alg from Jwt"],
      ['abc', 'Jwt is not in the form of Header.Payload.Signature'],
      [
        (async () => {
          const [h, , sig] = (await sign({ iss: 'iss-a', sub: 'x' })).split('.');
          const tampered = Buffer.from(JSON.stringify({ iss: 'iss-a', sub: 'admin' })).toString(
            'base64url',
          );
          return `${h}.${tampered}.${sig}`;
        })(),
        'Jwt verification fails',
      ],
    ];
    for (const [token, body] of cases) {
      const s = stream(bearer(await token));
      const reply = await run(one(), s);
      assert.equal(reply?.status, 401, body);
      assert.equal(reply?.body, body);
      assert.equal(
        reply?.headers?.['www-authenticate'],
        'Bearer realm="http://svc/p", error="invalid_token"',
      );
      assert.equal(s.responseCodeDetails, `jwt_authn_access_denied{${body.replace(/ /g, '_')}}`);
      assert.equal(s.requestAuth, undefined);
    }
  });

  it('checks audiences (403, as Envoy), with scheme and trailing slash ignored', async () => {
    const cfg = one({ audiences: ['https://api.example.com/'] });
    const good = stream(bearer(await sign({ iss: 'iss-a', aud: ['other', 'api.example.com'] })));
    assert.equal(await run(cfg, good), undefined);
    const reply = await run(cfg, stream(bearer(await sign({ iss: 'iss-a', aud: 'other' }))));
    assert.equal(reply?.status, 403);
    assert.equal(reply?.body, 'Audiences in Jwt are not allowed');
  });

  it('reads fromHeaders with a prefix, fromParams and fromCookies; forward keeps the token', async () => {
    const t = await sign({ iss: 'iss-a', sub: 's' });
    const cfg = one({
      from_headers: [{ name: 'X-Token', value_prefix: 'Tok ' }],
      from_params: ['tk'],
      from_cookies: ['session'],
    });
    const h = stream({ 'x-token': `Tok ${t}` });
    assert.equal(await run(cfg, h), undefined);
    assert.equal(h.requestAuth?.principal, 'iss-a/s');
    assert.equal(h.req.headers['x-token'], undefined);
    const q = stream({}, `a=1&tk=${t}&b=2`);
    assert.equal(await run(cfg, q), undefined);
    assert.equal(q.view.query, 'a=1&b=2', 'the parameter is removed');
    const c = stream({ cookie: `x=1; session=${t}` });
    assert.equal(await run(cfg, c), undefined);
    assert.equal(c.requestAuth?.principal, 'iss-a/s');
    // The default locations are no longer read once locations are configured.
    assert.equal((await run(cfg, stream(bearer('garbage')))) ?? 'passed', 'passed');
    const fwd = stream(bearer(t));
    assert.equal(await run(one({ forward: true }), fwd), undefined);
    assert.equal(fwd.req.headers['authorization'], `Bearer ${t}`);
    // access_token is a default location.
    assert.equal((await run(one(), stream({}, 'access_token=garbage')))?.status, 401);
  });

  it('outputs the payload and claims as headers, and strips spoofed ones', async () => {
    const cfg = one({
      forward_payload_header: 'x-payload',
      claim_to_headers: [
        { header_name: 'x-sub', claim_name: 'sub' },
        { header_name: 'x-nested', claim_name: 'n.k' },
        { header_name: 'x-list', claim_name: 'groups' },
      ],
    });
    const t = await sign({ iss: 'iss-a', sub: 'me', n: { k: 'deep' }, groups: ['a'] });
    const s = stream({ ...bearer(t), 'x-sub': 'spoofed', 'x-list': 'spoofed' });
    assert.equal(await run(cfg, s), undefined);
    assert.equal(s.req.headers['x-sub'], 'me');
    assert.equal(s.req.headers['x-nested'], 'deep');
    assert.equal(
      s.req.headers['x-list'],
      undefined,
      'lists are not copied; the spoofed value is gone',
    );
    assert.equal(s.req.headers['x-payload'], t.split('.')[1]);
    const none = stream({ 'x-sub': 'spoofed' });
    assert.equal(await run(cfg, none), undefined);
    assert.equal(none.req.headers['x-sub'], undefined);
  });

  it('combines providers as Istio does: a token must verify with its issuer', async () => {
    const cfg = istioConfig([
      { issuer: 'iss-a', audiences: ['foo'] },
      { issuer: 'iss-b', local_jwks: { inline_string: other } },
      { issuer: 'iss-b-any' },
    ]);
    assert.equal(
      await run(cfg, stream(bearer(await sign({ iss: 'iss-a', aud: 'foo' })))),
      undefined,
    );
    assert.equal((await run(cfg, stream(bearer(await sign({ iss: 'iss-a' })))))?.status, 403);
    // iss-b's keys are EC: no key for an RS256 token.
    assert.equal((await run(cfg, stream(bearer(await sign({ iss: 'iss-b' })))))?.status, 401);
    assert.equal(await run(cfg, stream()), undefined);
  });

  it('normalizes space-delimited claims for rbac; allow_missing_or_failed passes bad tokens', async () => {
    const cfg = one({ normalize_payload_in_metadata: { space_delimited_claims: ['scope'] } });
    const s = stream(bearer(await sign({ iss: 'iss-a', sub: 'u', scope: 'read write' })));
    assert.equal(await run(cfg, s), undefined);
    assert.deepEqual(s.requestAuth?.claims['scope'], ['read', 'write']);
    const lenient = {
      ...one(),
      rules: [
        {
          match: { prefix: '/' },
          requires: {
            requires_any: {
              requirements: [{ provider_name: 'origins-0' }, { allow_missing_or_failed: {} }],
            },
          },
        },
      ],
    };
    const bad = stream(bearer(await sign({ iss: 'iss-a' }, { expSec: -3600 })));
    assert.equal(await run(lenient, bad), undefined);
    assert.equal(bad.requestAuth, undefined);
  });

  it('lets CORS preflights through and prints claims as Envoy does', async () => {
    const s = stream(
      { ...bearer('bad'), origin: 'https://a', 'access-control-request-method': 'GET' },
      '',
      'OPTIONS',
    );
    assert.equal(await run(one(), s), undefined);
    assert.equal(claimValue({ n: 3 }, ['n']), '3');
    assert.equal(claimValue({ n: 1.5 }, ['n']), '1.500000');
    assert.equal(claimValue({ b: false }, ['b']), 'false');
    assert.equal(claimValue({ o: {} }, ['o']), undefined);
  });

  it('refuses config it cannot apply, naming the field', () => {
    assert.throws(
      () => compileJwtAuthn({ providers: { p: { remote_jwks: { http_uri: {} } } } }),
      /providers\["p"\]\.remote_jwks: not supported/,
    );
    assert.throws(
      () =>
        compileJwtAuthn({
          providers: {},
          rules: [{ match: { prefix: '/' }, requires: { provider_name: 'x' } }],
        }),
      /rules\[0\]\.requires\.provider_name: provider "x" is not configured/,
    );
  });
});
