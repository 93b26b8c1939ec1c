// RequestAuthentication end to end through real sidecars and the ingress gateway: every jwtRule
// field (issuer, audiences, jwks, jwksUri fetched by the control plane — cached, refreshed after a
// key rotation, failing closed when the server is down — fromHeaders, fromParams, fromCookies,
// outputPayloadToHeader, forwardOriginalToken, outputClaimToHeaders), a request without a token
// passing, invalid tokens answered 401, and scoping by selector, namespace and root namespace.
// Keys and tokens are made here with jose; Istio's own sample JWKS and tokens
// (../shared/istio-samples/jwt) run as Istio's end-user authentication task shows, when present.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CryptoKey, JWK } from 'jose';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { Mesh } from '../src/launcher/mesh.js';
import { startMesh } from '../src/launcher/mesh.js';
import {
  ROOT,
  SKIFF,
  closeAgent,
  eventually,
  meshSynced,
  send as sendVia,
  tempTree,
  type Answer,
} from './support/skiff.js';
import { ECHO_APP, type Seen } from './support/traffic-http-mesh.js';
import { httpIngress } from './support/gateway.js';

const SAMPLES = path.resolve(ROOT, '../shared/istio-samples/jwt');
const HAVE_SAMPLES = existsSync(path.join(SAMPLES, 'jwks.json'));

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** A request to 127.0.0.1:port: absolute form through a sidecar, origin form to the gateway. */
function send(port: number, url: string, headers: Record<string, string> = {}): Promise<Answer> {
  // A path goes to the gateway, whose Gateway serves jwt.example.com.
  const host: Record<string, string> = url.startsWith('/') ? { host: 'jwt.example.com' } : {};
  return sendVia(agent, port, url, { headers: { ...host, ...headers } });
}

interface Signer {
  readonly jwk: JWK;
  sign(claims: Record<string, unknown>, expSec?: number): Promise<string>;
}

async function signer(kid: string): Promise<Signer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const key: CryptoKey = privateKey;
  return {
    jwk,
    sign: (claims, expSec = 3600) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid })
        .setIssuedAt(now)
        .setExpirationTime(now + expSec)
        .sign(key);
    },
  };
}

const workload = (name: string, ns: string, app: string, cmd: string, ports = true) => `
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata: { name: ${name}, namespace: ${ns}, labels: { app: ${app} } }
spec:
  command: [node, ${cmd}]
  env: { VERSION: ${name} }
  ${ports ? 'ports: [{ name: http, containerPort: 9080 }]' : ''}
---
${
  ports
    ? `apiVersion: v1
kind: Service
metadata: { name: ${app}, namespace: ${ns} }
spec:
  selector: { app: ${app} }
  ports: [{ name: http, port: 9080, targetPort: http }]
---`
    : ''
}`;

const ra = (name: string, ns: string, body: string) => `
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: ${name}, namespace: ${ns} }
spec:
${body}
---`;

describe('RequestAuthentication (JWT) through real sidecars', { timeout: 600_000 }, () => {
  let mesh: Mesh;
  let jwksServer: http.Server;
  let jwksPort = 0;
  let closedPort = 0;
  /** What the JWKS server serves at /jwks, and how many times it was asked. */
  let served: JWK[] = [];
  let fetches = 0;
  let inline: Signer;
  let remote: Signer;
  let rotated: Signer;
  const instance = (name: string) => {
    const i = mesh.record.instances.find((x) => x.workloadName === name);
    assert.ok(i, `instance of ${name}`);
    return i;
  };
  const client = () => instance('client').outboundPort;
  const gateway = () => {
    const port = mesh.record.gateway.ports[0]?.hostPort;
    assert.ok(port, 'the gateway listens');
    return port;
  };
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  /** The request as the server's app saw it (the echo app answers with it). */
  const seen = (a: Answer): Seen => JSON.parse(a.body) as Seen;

  before(async () => {
    inline = await signer('inline');
    remote = await signer('remote');
    rotated = await signer('rotated');
    served = [remote.jwk];
    jwksServer = http.createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/istio-jwks.json' && HAVE_SAMPLES) {
        res.end(readFileSync(path.join(SAMPLES, 'jwks.json')));
        return;
      }
      fetches++;
      res.end(JSON.stringify({ keys: served }));
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', () => r()));
    jwksPort = (jwksServer.address() as AddressInfo).port;
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const inlineJwks = JSON.stringify({ keys: [inline.jwk] });
    const samples = HAVE_SAMPLES
      ? `
  - issuer: testing@secure.istio.io
    jwksUri: http://127.0.0.1:${jwksPort}/istio-jwks.json`
      : '';
    const yaml = [
      workload('client', 'default', 'client', 'idle.mjs', false),
      workload('server', 'default', 'server', 'echo.mjs'),
      workload('other', 'default', 'other', 'echo.mjs'),
      workload('far', 'far', 'far', 'echo.mjs'),
      // Mesh-wide (root namespace, no selector): every proxy, the gateway too.
      ra('mesh', 'istio-system', `  jwtRules: [{ issuer: iss-mesh, jwks: '${inlineJwks}' }]`),
      // The gateway only (root namespace, selector).
      ra(
        'gw',
        'istio-system',
        `  selector: { matchLabels: { istio: ingressgateway } }
  jwtRules:
  - issuer: iss-gw
    jwks: '${inlineJwks}'${samples}`,
      ),
      // Namespace-wide in `far`.
      ra('far', 'far', `  jwtRules: [{ issuer: iss-ns, jwks: '${inlineJwks}' }]`),
      // The server workload: every field.
      ra(
        'server',
        'default',
        `  selector: { matchLabels: { app: server } }
  jwtRules:
  - issuer: iss-a
    jwks: '${inlineJwks}'
    audiences: [aud-a, https://aud-b.example.com]
    outputPayloadToHeader: x-jwt-payload
    outputClaimToHeaders:
    - { header: x-jwt-sub, claim: sub }
    - { header: x-jwt-nested, claim: n.k }
  - issuer: iss-uri
    # A host name, not an address: the fetcher's guarded DNS lookup is on the path.
    jwksUri: http://localhost:${jwksPort}/jwks
    fromHeaders: [{ name: x-token, prefix: "Tok " }]
    fromParams: [tok]
    fromCookies: [session]
    forwardOriginalToken: true
  - issuer: iss-down
    jwksUri: http://127.0.0.1:${closedPort}/jwks
    fromHeaders: [{ name: x-down }]`,
      ),
      httpIngress({ name: 'server-gw', host: 'jwt.example.com', service: 'server' }),
    ].join('\n');
    const dir = tempTree('skiff-jwt-', {
      'mesh.yaml': yaml,
      'echo.mjs': ECHO_APP,
      'idle.mjs': `setInterval(() => {}, 1 << 30); process.on('SIGTERM', () => process.exit(0));`,
    });
    mesh = await startMesh({
      dir: '.',
      cwd: dir,
      skiffCommand: SKIFF,
      ingressPort: 0,
      startTimeoutMs: 240_000,
      // A refresh this test can watch (istiod's knob, 20m by default).
      env: { ...process.env, PILOT_JWT_PUB_KEY_REFRESH_INTERVAL: '1s' },
    });
    await meshSynced(mesh, 120_000);
  });

  after(async () => {
    agent.destroy();
    closeAgent();
    await mesh?.stop();
    jwksServer?.close();
  });

  const server = 'http://server:9080/echo';

  test('no token passes; a good token passes and its identity reaches the app as configured', async () => {
    assert.equal((await send(client(), server)).status, 200);
    const token = await inline.sign({
      iss: 'iss-a',
      sub: 'alice',
      aud: 'aud-a',
      n: { k: 'v' },
    });
    const res = await send(client(), server, { ...bearer(token), 'x-jwt-sub': 'spoofed' });
    assert.equal(res.status, 200, res.body);
    const got = seen(res).headers;
    assert.equal(got['authorization'], undefined, 'the token is removed by default');
    assert.equal(got['x-jwt-sub'], 'alice', 'outputClaimToHeaders (the spoofed value is replaced)');
    assert.equal(got['x-jwt-nested'], 'v', 'nested claim');
    assert.equal(got['x-jwt-payload'], token.split('.')[1], 'outputPayloadToHeader');
    // audiences: any of them, compared without scheme and trailing slash.
    const b = await inline.sign({ iss: 'iss-a', aud: ['x', 'aud-b.example.com/'] });
    assert.equal((await send(client(), server, bearer(b))).status, 200);
  });

  test('invalid tokens: 401 with Envoy’s body and challenge; a wrong audience 403 (as Envoy)', async () => {
    // With several rules the answer is the status of the first rule's check, in issuer order
    // (Istio sorts them; Envoy's requires_all stops at the first failure): iss-a sorts first.
    const cases: [string, number, string][] = [
      [await inline.sign({ iss: 'iss-a', aud: 'aud-a' }, -600), 401, 'Jwt is expired'],
      [await inline.sign({ iss: 'nobody' }), 401, 'Jwt issuer is not configured'],
      [
        await remote.sign({ iss: 'iss-a', aud: 'aud-a' }),
        401,
        "Jwks doesn't have key to match kid or alg from Jwt",
      ],
      ['not-a-jwt', 401, 'Jwt is not in the form of Header.Payload.Signature'],
      [await inline.sign({ iss: 'iss-a', aud: 'other' }), 403, 'Audiences in Jwt are not allowed'],
    ];
    const good = await inline.sign({ iss: 'iss-a', sub: 'x', aud: 'aud-a' });
    const [h, , s] = good.split('.');
    const forged = Buffer.from(JSON.stringify({ iss: 'iss-a', sub: 'admin', aud: 'aud-a' }));
    cases.push([`${h}.${forged.toString('base64url')}.${s}`, 401, 'Jwt verification fails']);
    for (const [token, status, body] of cases) {
      const res = await send(client(), server, bearer(token));
      assert.equal(res.status, status, body);
      assert.equal(res.body, body);
      assert.equal(
        res.headers['www-authenticate'],
        'Bearer realm="http://server:9080/echo", error="invalid_token"',
      );
    }
    // A good token does not carry a bad one at another location (header + ?access_token=).
    const expired = await inline.sign({ iss: 'iss-a', aud: 'aud-a' }, -600);
    const both = await send(client(), `${server}?access_token=${expired}`, bearer(good));
    assert.equal(both.status, 401, both.body);
  });

  test('jwksUri: fetched by the control plane; fromHeaders with prefix, fromParams, fromCookies; forwardOriginalToken', async () => {
    const token = await remote.sign({ iss: 'iss-uri', sub: 'bob' });
    const h = await send(client(), server, { 'x-token': `Tok ${token}` });
    assert.equal(h.status, 200, h.body);
    assert.equal(seen(h).headers['x-token'], `Tok ${token}`, 'forwardOriginalToken keeps it');
    const q = await send(client(), `${server}?a=1&tok=${token}`);
    assert.equal(q.status, 200, q.body);
    assert.equal(seen(q).url, `/echo?a=1&tok=${token}`);
    const c = await send(client(), server, { cookie: `x=1; session=${token}` });
    assert.equal(c.status, 200, c.body);
    // A bad token at a configured location fails; a good one at another rule's location too.
    assert.equal((await send(client(), server, { 'x-token': 'Tok bad' })).status, 401);
    assert.equal((await send(client(), server, bearer(token))).status, 401);
    // The control plane fetched the keys; proxies never ask the JWKS server.
    const before = fetches;
    for (let i = 0; i < 10; i++)
      assert.equal((await send(client(), server, { 'x-token': `Tok ${token}` })).status, 200);
    assert.ok(fetches - before < 10, `requests do not fetch keys (${fetches - before} fetches)`);
  });

  test('jwksUri refreshed: after a key rotation the new key verifies and the old one fails', async () => {
    const oldToken = await remote.sign({ iss: 'iss-uri', sub: 'old' });
    const newToken = await rotated.sign({ iss: 'iss-uri', sub: 'new' });
    assert.equal((await send(client(), `${server}?tok=${newToken}`)).status, 401);
    served = [rotated.jwk];
    await eventually(
      'the rotated key pushed to the server sidecar',
      async () => (await send(client(), `${server}?tok=${newToken}`)).status === 200,
      60_000,
    );
    assert.equal((await send(client(), `${server}?tok=${oldToken}`)).status, 401);
  });

  test('jwksUri that cannot be fetched fails closed: its tokens 401, no token still passes', async () => {
    const token = await inline.sign({ iss: 'iss-down' });
    const res = await send(client(), server, { 'x-down': token });
    assert.equal(res.status, 401);
    assert.equal(res.body, 'Jwt verification fails');
    assert.equal((await send(client(), server)).status, 200);
    // And when the JWKS server goes away, the keys fetched before stay in force.
    const good = await rotated.sign({ iss: 'iss-uri' });
    const closed = new Promise<void>((r) => jwksServer.close(() => r()));
    jwksServer.closeAllConnections();
    await closed;
    await eventually(
      'a refresh that failed',
      () =>
        readFileSync(mesh.record.controlPlane.log, 'utf8').includes(
          'keeping the keys fetched before',
        ),
      30_000,
    );
    assert.equal((await send(client(), `${server}?tok=${good}`)).status, 200);
  });

  test('scoping: workload selector, namespace, root namespace (mesh-wide), gateway selector', async () => {
    const mesh = await inline.sign({ iss: 'iss-mesh' });
    const ns = await inline.sign({ iss: 'iss-ns' });
    const wl = await inline.sign({ iss: 'iss-a', aud: 'aud-a' });
    const gw = await inline.sign({ iss: 'iss-gw' });
    const status = async (url: string, token: string) =>
      (await send(url.startsWith('/') ? gateway() : client(), url, bearer(token))).status;
    // The root namespace's policy applies everywhere.
    assert.equal(await status(server, mesh), 200);
    assert.equal(await status('http://other:9080/', mesh), 200);
    assert.equal(await status('http://far.far:9080/', mesh), 200);
    assert.equal(await status('/', mesh), 200);
    // The namespace policy only in its namespace.
    assert.equal(await status('http://far.far:9080/', ns), 200);
    assert.equal(await status(server, ns), 401);
    // The workload policy only on the selected workload.
    assert.equal(await status(server, wl), 200);
    assert.equal(await status('http://other:9080/', wl), 401);
    // The gateway's policy on the gateway only; the token is removed there.
    const viaGw = await send(gateway(), '/echo', bearer(gw));
    assert.equal(viaGw.status, 200, viaGw.body);
    assert.equal(seen(viaGw).headers['authorization'], undefined);
    assert.equal(await status(server, gw), 401);
    assert.equal((await send(gateway(), '/echo', bearer('deadbeef'))).status, 401);
  });

  test('validation refuses a bad jwks naming the field', () => {
    const dir = tempTree('skiff-jwt-bad-', {
      'ra.yaml': ra(
        'bad',
        'default',
        `  jwtRules: [{ issuer: x, jwks: '{"keys": [{"kty": "RSA", "n": "AQAB"}]}' }]`,
      ),
    });
    const r = spawnSync(SKIFF[0] as string, [...SKIFF.slice(1), 'validate', dir], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(
      r.stdout + r.stderr,
      /RequestAuthentication default\/bad: spec\.jwtRules\[0\]\.jwks: jwks key 0: not a valid RSA key/,
    );
  });

  describe('Istio’s sample JWKS and tokens (../shared/istio-samples/jwt)', () => {
    const skip = HAVE_SAMPLES ? false : `skipped: ${SAMPLES} is absent (Istio's samples)`;
    test(
      'demo.jwt and groups-scope.jwt 200, a tampered token 401, no token 200',
      { skip },
      async () => {
        const demo = readFileSync(path.join(SAMPLES, 'demo.jwt'), 'utf8').trim();
        const groups = readFileSync(path.join(SAMPLES, 'groups-scope.jwt'), 'utf8').trim();
        assert.equal((await send(gateway(), '/headers', bearer(demo))).status, 200);
        assert.equal((await send(gateway(), '/headers', bearer(groups))).status, 200);
        const [h, p, s] = demo.split('.');
        const claims = JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) as Record<
          string,
          unknown
        >;
        const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url')}.${s}`;
        const bad = await send(gateway(), '/headers', bearer(tampered));
        assert.equal(bad.status, 401);
        assert.equal((await send(gateway(), '/headers', bearer('deadbeef'))).status, 401);
        assert.equal((await send(gateway(), '/headers')).status, 200);
      },
    );
  });
});
