// The control plane's JWKS resolver against a real HTTP server: jwksUri and OpenID discovery,
// refresh with change notification, failures leaving no keys, bodies that are no key set refused.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { makeCa, makeLeaf } from '../../../test/support/tls.js';
import { JwksResolver, blockedAddress, guardedLookup, refreshIntervalFromEnv } from './resolver.js';

describe('JwksResolver', () => {
  let server: http.Server;
  let base = '';
  let keys = '{"keys":[{"kty":"oct","k":"AA"}]}';
  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/.well-known/openid-configuration')
        return void res.end(JSON.stringify({ jwks_uri: `${base}/jwks` }));
      if (req.url === '/jwks') return void res.end(keys);
      if (req.url === '/html') return void res.end('<html>');
      if (req.url === '/redirect') return void res.writeHead(302, { location: '/jwks' }).end();
      if (req.url === '/big') return void res.end(`{"keys":[],"x":"${'a'.repeat(2 << 20)}"}`);
      if (req.url === '/trickle') {
        // A byte every 100 ms, never finishing within the timeout: the deadline covers the body.
        res.write('{"keys":[');
        const t = setInterval(() => res.write(' '), 100);
        res.on('close', () => clearInterval(t));
        return;
      }
      res.writeHead(404).end('no');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('fetches by jwksUri and by discovery, refreshes, and reports changes', async () => {
    let changes = 0;
    const logs: string[] = [];
    const r = new JwksResolver({
      refreshMs: 50,
      log: (l) => logs.push(l),
      onChange: () => changes++,
    });
    await r.ensure([
      { issuer: 'a', jwksUri: `${base}/jwks`, timeoutMs: undefined },
      { issuer: base, jwksUri: undefined, timeoutMs: 1000 },
      { issuer: 'bad', jwksUri: `${base}/html`, timeoutMs: undefined },
      { issuer: 'gone', jwksUri: `${base}/missing`, timeoutMs: undefined },
    ]);
    const snap = r.snapshot();
    assert.equal(snap.get(`${base}/jwks`), keys);
    assert.equal(snap.get(`openid:${base}`), keys);
    assert.equal(snap.has(`${base}/html`), false, 'not a key set: never inlined');
    assert.equal(snap.has(`${base}/missing`), false);
    assert.ok(logs.some((l) => l.includes('status 404')));
    const before = changes;
    keys = '{"keys":[]}';
    r.start();
    const deadline = Date.now() + 10_000;
    while (r.snapshot().get(`${base}/jwks`) !== keys && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 20));
    r.close();
    assert.equal(r.snapshot().get(`${base}/jwks`), keys, 'refreshed');
    assert.ok(changes > before, 'a change is reported');
    // Sources no longer named are forgotten.
    await r.ensure([]);
    assert.equal(r.snapshot().size, 0);
  });

  it('refuses link-local hosts, and reads the refresh knob', async () => {
    const logs: string[] = [];
    const r = new JwksResolver({
      refreshMs: 1000,
      log: (l) => logs.push(l),
      onChange: () => undefined,
      timeoutMs: 500,
    });
    await r.ensure([{ issuer: 'x', jwksUri: 'http://169.254.169.254/jwks', timeoutMs: undefined }]);
    r.close();
    assert.match(logs.join('\n'), /link-local/);
    assert.equal(refreshIntervalFromEnv({ PILOT_JWT_PUB_KEY_REFRESH_INTERVAL: '1.5s' }), 1500);
    assert.equal(refreshIntervalFromEnv({}), 20 * 60_000);
  });

  it('resolves host names, and blocks metadata addresses in every spelling', async () => {
    const port = new URL(base).port;
    const logs: string[] = [];
    const r = new JwksResolver({ refreshMs: 60_000, log: (l) => logs.push(l), onChange: () => 0 });
    const bad = [
      'http://[::ffff:169.254.169.254]/jwks',
      'http://[::ffff:a9fe:a9fe]/jwks',
      'http://0xa9fea9fe/jwks',
      'http://100.100.100.200/jwks',
      'http://[fd00:ec2::254]/jwks',
      'http://[fe80::1]/jwks',
    ];
    await r.ensure([
      // Node 20 asks a custom lookup for all addresses: a host name must still resolve.
      { issuer: 'named', jwksUri: `http://localhost:${port}/jwks`, timeoutMs: 2000 },
      ...bad.map((jwksUri, i) => ({ issuer: `b${i}`, jwksUri, timeoutMs: 2000 })),
    ]);
    r.close();
    assert.deepEqual([...r.snapshot().keys()], [`http://localhost:${port}/jwks`], logs.join('\n'));
    assert.equal(logs.filter((l) => l.includes('connection blocked')).length, bad.length);
    // What a name resolves to is checked too, in both shapes of answer.
    for (const all of [false, true])
      await new Promise<void>((done) =>
        guardedLookup('169.254.169.254', { all }, (err) => {
          assert.match(String(err), /connection blocked/);
          done();
        }),
      );
    assert.equal(blockedAddress('10.0.0.1'), undefined, 'private addresses stay allowed');
    assert.equal(blockedAddress('::1'), undefined);
  });

  it('gives up on slow, oversized and redirected answers', async () => {
    const logs: string[] = [];
    const r = new JwksResolver({ refreshMs: 60_000, log: (l) => logs.push(l), onChange: () => 0 });
    await r.ensure(
      ['trickle', 'big', 'redirect'].map((p) => ({
        issuer: p,
        jwksUri: `${base}/${p}`,
        timeoutMs: 1500,
      })),
    );
    r.close();
    assert.equal(r.snapshot().size, 0);
    const text = logs.join('\n');
    assert.match(text, /"trickle".*no complete answer in 1500 ms/);
    assert.match(text, /"big".*larger than/);
    assert.match(text, /"redirect".*status 302/);
  });

  it('fetches over https with the trust store (NODE_EXTRA_CA_CERTS added to it)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-jwks-tls-'));
    const ca = makeCa(dir);
    const leaf = makeLeaf(dir, 'jwks', ca, ['IP:127.0.0.1']);
    const tlsServer = https.createServer({ cert: leaf.cert, key: leaf.key }, (_req, res) =>
      res.end('{"keys":[]}'),
    );
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', () => r()));
    const uri = `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}/jwks`;
    const source = { issuer: 'tls', jwksUri: uri, timeoutMs: undefined };
    const quiet = { refreshMs: 60_000, onChange: () => undefined };
    const logs: string[] = [];
    const untrusted = new JwksResolver({ ...quiet, log: (l) => logs.push(l) });
    await untrusted.ensure([source]);
    untrusted.close();
    assert.equal(untrusted.snapshot().size, 0, 'an unknown CA is not trusted');
    const prior = process.env['NODE_EXTRA_CA_CERTS'];
    process.env['NODE_EXTRA_CA_CERTS'] = ca.certFile;
    try {
      const trusted = new JwksResolver({ ...quiet, log: (l) => logs.push(l) });
      await trusted.ensure([source]);
      trusted.close();
      assert.equal(trusted.snapshot().get(uri), '{"keys":[]}', logs.join('\n'));
    } finally {
      if (prior === undefined) delete process.env['NODE_EXTRA_CA_CERTS'];
      else process.env['NODE_EXTRA_CA_CERTS'] = prior;
      tlsServer.close();
    }
  });
});
