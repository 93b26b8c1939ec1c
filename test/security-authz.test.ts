// AuthorizationPolicy end to end through real sidecars: ALLOW (every from.source, to.operation
// and `when` key, and their not forms, one rule per path prefix), allow-nothing, deny-all, DENY,
// AUDIT (never blocks), CUSTOM with a real HTTP authorizer run by this test (allow with
// headersToUpstreamOnAllow, deny with headersToDownstreamOnDeny, failOpen when it is down, and
// the order CUSTOM → DENY → ALLOW), and TCP ports (an ALLOW needing HTTP fields does not open, a
// DENY with HTTP fields still denies). Identity keys need mTLS between the sidecars.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { JWK } from 'jose';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { Mesh } from '../src/launcher/mesh.js';
import { startMesh } from '../src/launcher/mesh.js';
import {
  SKIFF,
  closeAgent,
  meshSynced,
  send as sendVia,
  tempTree,
  type Answer,
  type SendOptions,
} from './support/skiff.js';
import { MULTI_TCP } from './support/protocol-apps.js';
import { ECHO_APP, type Seen } from './support/traffic-http-mesh.js';
import { httpIngress } from './support/gateway.js';

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const DENIED = 'RBAC: access denied';

/** A request through a sidecar's HTTP proxy port (absolute form, as HTTP_PROXY clients send). */
const send = (port: number, url: string, opts: SendOptions = {}): Promise<Answer> =>
  sendVia(agent, port, url, opts);

/** A CONNECT tunnel through a sidecar to a TCP port: what the server said before closing/idle. */
function tcpGreeting(proxyPort: number, authority: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: proxyPort,
      method: 'CONNECT',
      path: authority,
      headers: { host: authority },
      agent: false,
    });
    req.once('connect', (res, socket, head) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        resolve(`status ${res.statusCode}`);
        return;
      }
      let text = head.toString();
      const done = () => {
        clearTimeout(timer);
        socket.destroy();
        resolve(text);
      };
      const timer = setTimeout(done, 10_000);
      socket.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('\n')) done();
      });
      socket.once('close', done);
      socket.once('error', done);
    });
    req.once('response', (res) => {
      res.resume();
      resolve(`status ${res.statusCode}`);
    });
    req.once('error', reject);
    req.end();
  });
}

const workload = (name: string, ns: string, sa: string, cmd: string, ports: string) => `
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata: { name: ${name}, namespace: ${ns}, labels: { app: ${name} } }
spec:
  serviceAccount: ${sa}
  command: [node, ${cmd}]
  env: { VERSION: ${name} }
  ${ports ? `ports: [${ports}]` : ''}
---
${
  ports
    ? `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${ns} }
spec:
  selector: { app: ${name} }
  ports: [${ports.replace(/containerPort/g, 'port')}]
---`
    : ''
}`;

const HTTP_PORT = '{ name: http, containerPort: 9080 }';
const TCP_PORTS =
  '{ name: tcp-a, containerPort: 7001 }, { name: tcp-b, containerPort: 7002 }, { name: tcp-c, containerPort: 7003 }, ' +
  '{ name: tcp-d, containerPort: 7004 }';

const ap = (name: string, app: string, body: string) => `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: default }
spec:
  selector: { matchLabels: { app: ${app} } }
${body}
---`;

/** One ALLOW rule per path prefix: it opens /<key>/... when its field matches. */
const rule = (key: string, rest: string) => {
  const op = /^to: \[\{ operation: \{ (.*) \} \}\]$/.exec(rest);
  const paths = `paths: ["/${key}/*"]`;
  return op
    ? `  - to: [{ operation: { ${paths}, ${op[1]} } }]`
    : `  - to: [{ operation: { ${paths} } }]\n    ${rest}`;
};

const ALLOW_RULES = [
  `  - to: [{ operation: { paths: ["/exact", "*.json", "/open/*"] } }]`,
  rule('m', 'to: [{ operation: { methods: [POST] } }]'),
  rule('notm', 'to: [{ operation: { notMethods: [POST] } }]'),
  rule('host', 'to: [{ operation: { hosts: ["authz*"] } }]'),
  rule('nothost', 'to: [{ operation: { notHosts: ["authz*"] } }]'),
  rule('port', 'to: [{ operation: { ports: ["9080"] } }]'),
  rule('notport', 'to: [{ operation: { notPorts: ["9080"] } }]'),
  `  - to: [{ operation: { notPaths: ["/np/secret*"] } }]
    when: [{ key: "request.headers[x-np]", values: ["1"] }]`,
  rule('hdr', 'when: [{ key: "request.headers[x-team]", values: [blue, "gr*"] }]'),
  rule('nothdr', 'when: [{ key: "request.headers[x-team]", notValues: [red] }]'),
  rule('ip', 'from: [{ source: { ipBlocks: [127.0.0.1] } }]'),
  rule('notip', 'from: [{ source: { notIpBlocks: [127.0.0.0/8] } }]'),
  rule('rip', 'from: [{ source: { remoteIpBlocks: [1.2.3.0/24] } }]'),
  rule('notrip', 'from: [{ source: { notRemoteIpBlocks: [1.2.3.0/24] } }]'),
  rule('wsip', 'when: [{ key: source.ip, values: [127.0.0.1] }]'),
  rule('wrip', 'when: [{ key: remote.ip, values: [1.2.3.4] }]'),
  rule('wdip', 'when: [{ key: destination.ip, values: [127.0.0.0/8] }]'),
  rule('wdport', 'when: [{ key: destination.port, values: ["9080"] }]'),
  rule('wdportnot', 'when: [{ key: destination.port, notValues: ["9080"] }]'),
  rule('reqp', 'from: [{ source: { requestPrincipals: [iss-t/alice] } }]'),
  rule('notreqp', 'from: [{ source: { notRequestPrincipals: ["*"] } }]'),
  rule('wap', 'when: [{ key: request.auth.principal, values: [iss-t/alice] }]'),
  rule('waud', 'when: [{ key: request.auth.audiences, values: [aud-t] }]'),
  rule('wpres', 'when: [{ key: request.auth.presenter, values: [pres-t] }]'),
  rule('wgrp', 'when: [{ key: "request.auth.claims[groups]", values: [admin] }]'),
  rule('wnest', 'when: [{ key: "request.auth.claims[n][k]", values: [v] }]'),
  // Identity (mTLS between the sidecars).
  rule('pr', 'from: [{ source: { principals: [cluster.local/ns/default/sa/client] } }]'),
  rule('notpr', 'from: [{ source: { notPrincipals: [cluster.local/ns/default/sa/client] } }]'),
  rule('ns', 'from: [{ source: { namespaces: [default] } }]'),
  rule('notns', 'from: [{ source: { notNamespaces: [default] } }]'),
  rule('sa', 'from: [{ source: { serviceAccounts: [default/client] } }]'),
  rule('notsa', 'from: [{ source: { notServiceAccounts: [default/client] } }]'),
  rule('wpr', 'when: [{ key: source.principal, values: ["*/sa/client"] }]'),
  rule('wns', 'when: [{ key: source.namespace, values: [default] }]'),
  rule('wsa', 'when: [{ key: source.serviceAccount, values: [default/client] }]'),
  rule('wsni', 'when: [{ key: connection.sni, values: ["*authz.default.svc.cluster.local"] }]'),
  rule(
    'wsninot',
    'when: [{ key: connection.sni, notValues: ["*authz.default.svc.cluster.local"] }]',
  ),
].join('\n');

describe('AuthorizationPolicy through real sidecars', { timeout: 900_000 }, () => {
  let mesh: Mesh;
  let authorizer: http.Server;
  let checks: { method: string; url: string; headers: http.IncomingHttpHeaders }[] = [];
  let token = '';
  const instance = (name: string) => {
    const i = mesh.record.instances.find((x) => x.workloadName === name);
    assert.ok(i, `instance of ${name}`);
    return i;
  };
  const client = () => instance('client').outboundPort;
  const other = () => instance('other').outboundPort;
  const bearer = () => ({ authorization: `Bearer ${token}` });
  const seen = (a: Answer): Seen => JSON.parse(a.body) as Seen;

  before(async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k', alg: 'RS256', use: 'sig' };
    const now = Math.floor(Date.now() / 1000);
    token = await new SignJWT({
      iss: 'iss-t',
      sub: 'alice',
      aud: 'aud-t',
      azp: 'pres-t',
      groups: ['admin', 'dev'],
      n: { k: 'v' },
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'k' })
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(privateKey);
    // The external authorizer: allows when x-ext-authz is "allow" (Istio's sample's rule).
    authorizer = http.createServer((req, res) => {
      checks.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      req.resume();
      if (req.headers['x-ext-authz'] === 'allow') {
        res.writeHead(200, {
          'x-ext-authz-check-result': 'allowed',
          'x-user': 'alice-from-authz',
          'x-not-forwarded': 'no',
        });
        res.end();
        return;
      }
      res.writeHead(403, { 'x-ext-authz-check-result': 'denied', 'x-secret': 'hidden' });
      res.end('denied by ext_authz');
    });
    await new Promise<void>((r) => authorizer.listen(0, '127.0.0.1', () => r()));
    const authzPort = (authorizer.address() as AddressInfo).port;
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const jwks = JSON.stringify({ keys: [jwk] });
    const mesh_ = `
apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |
    defaultConfig:
      gatewayTopology: { numTrustedProxies: 1 }
    extensionProviders:
    - name: my-authz
      envoyExtAuthzHttp:
        service: ext-authz.local
        port: 8000
        pathPrefix: /check
        includeRequestHeadersInCheck: [x-ext-authz]
        includeAdditionalHeadersInCheck: { x-added: from-skiff }
        headersToUpstreamOnAllow: [x-user]
        headersToDownstreamOnDeny: [x-ext-authz-check-result]
        headersToDownstreamOnAllow: [x-ext-authz-check-result]
    - name: down-open
      envoyExtAuthzHttp: { service: ext-down.local, port: 8000, failOpen: true, timeout: 2s }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ext-authz, namespace: istio-system }
spec:
  hosts: [ext-authz.local]
  ports: [{ number: 8000, name: http, protocol: HTTP }]
  resolution: STATIC
  location: MESH_EXTERNAL
  endpoints: [{ address: 127.0.0.1, ports: { http: ${authzPort} } }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ext-down, namespace: istio-system }
spec:
  hosts: [ext-down.local]
  ports: [{ number: 8000, name: http, protocol: HTTP }]
  resolution: STATIC
  location: MESH_EXTERNAL
  endpoints: [{ address: 127.0.0.1, ports: { http: ${closedPort} } }]
---`;
    const yaml = [
      mesh_,
      workload('client', 'default', 'client', 'idle.mjs', ''),
      workload('other', 'other', 'other', 'idle.mjs', ''),
      workload('authz', 'default', 'authz', 'echo.mjs', HTTP_PORT),
      workload('deny', 'default', 'deny', 'echo.mjs', HTTP_PORT),
      workload('closed', 'default', 'closed', 'echo.mjs', HTTP_PORT),
      workload('locked', 'default', 'locked', 'echo.mjs', HTTP_PORT),
      workload('ext', 'default', 'ext', 'echo.mjs', HTTP_PORT),
      workload('extdown', 'default', 'extdown', 'echo.mjs', HTTP_PORT),
      workload('tcp', 'default', 'tcp', 'tcp.mjs', TCP_PORTS),
      `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: default }
spec:
  selector: { matchLabels: { app: authz } }
  jwtRules: [{ issuer: iss-t, jwks: '${jwks}' }]
---`,
      ap('authz-allow', 'authz', `  rules:\n${ALLOW_RULES}`),
      ap(
        'deny-deny',
        'deny',
        `  action: DENY
  rules:
  - to: [{ operation: { paths: ["/admin*"] } }]
  - from: [{ source: { notNamespaces: [default] } }]
    to: [{ operation: { paths: ["/ns-only*"] } }]
  - when: [{ key: "request.headers[x-block]", values: ["*"] }]`,
      ),
      ap(
        'deny-audit',
        'deny',
        `  action: AUDIT\n  rules: [{ to: [{ operation: { paths: ["/audit*"] } }] }]`,
      ),
      ap('closed-nothing', 'closed', ''),
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: gw-deny, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  action: DENY
  rules: [{ from: [{ source: { remoteIpBlocks: [5.6.7.8] } }] }]
---
${httpIngress({ name: 'deny-gw', host: 'authz.example.com', service: 'deny' })}
---`,
      ap('locked-all', 'locked', '  action: DENY\n  rules: [{}]'),
      ap(
        'ext-custom',
        'ext',
        `  action: CUSTOM
  provider: { name: my-authz }
  rules: [{ to: [{ operation: { paths: ["/ext/*"] } }] }]`,
      ),
      ap(
        'ext-deny',
        'ext',
        `  action: DENY\n  rules: [{ to: [{ operation: { paths: ["/ext/deny*", "/free/deny*"] } }] }]`,
      ),
      ap('ext-allow', 'ext', `  rules: [{ to: [{ operation: { notPaths: ["/free/closed*"] } }] }]`),
      ap(
        'extdown-custom',
        'extdown',
        `  action: CUSTOM
  provider: { name: down-open }
  rules: [{}]`,
      ),
      ap(
        'tcp-allow',
        'tcp',
        `  rules:
  - to: [{ operation: { ports: ["7001", "7003"] } }]
  - to: [{ operation: { ports: ["7002"], methods: [GET] } }]
  - from: [{ source: { principals: [cluster.local/ns/default/sa/client] } }]
    to: [{ operation: { ports: ["7004"] } }]`,
      ),
      ap(
        'tcp-deny',
        'tcp',
        `  action: DENY\n  rules: [{ to: [{ operation: { ports: ["7003"], paths: ["/admin"] } }] }]`,
      ),
    ].join('\n');
    const dir = tempTree('skiff-authz-', {
      'mesh.yaml': yaml,
      'echo.mjs': ECHO_APP,
      'tcp.mjs': MULTI_TCP,
      'idle.mjs': `setInterval(() => {}, 1 << 30); process.on('SIGTERM', () => process.exit(0));`,
    });
    mesh = await startMesh({
      dir: '.',
      cwd: dir,
      skiffCommand: SKIFF,
      ingressPort: 0,
      startTimeoutMs: 300_000,
    });
    await meshSynced(mesh, 180_000);
  });

  after(async () => {
    agent.destroy();
    closeAgent();
    await mesh?.stop();
    authorizer?.close();
  });

  const authz = 'http://authz.default:9080';
  const status = async (url: string, opts: Parameters<typeof send>[2] = {}, port = client()) =>
    (await send(port, url, opts)).status;

  test('ALLOW: a request no rule matches gets 403 "RBAC: access denied"; paths exact, prefix, suffix', async () => {
    const denied = await send(client(), `${authz}/nothing`);
    assert.equal(denied.status, 403);
    assert.equal(denied.body, DENIED);
    assert.equal(await status(`${authz}/exact`), 200);
    assert.equal(await status(`${authz}/exact/more`), 403);
    assert.equal(await status(`${authz}/open/a/b`), 200);
    assert.equal(await status(`${authz}/x/data.json`), 200);
    assert.equal(await status(`${authz}/x/data.jsonx`), 403);
    // The query is not part of the path (Envoy's url_path).
    assert.equal(await status(`${authz}/exact?q=1`), 200);
  });

  test('to.operation: methods, hosts, ports and their not forms; notPaths', async () => {
    assert.equal(await status(`${authz}/m/x`, { method: 'POST' }), 200);
    assert.equal(await status(`${authz}/m/x`), 403);
    assert.equal(await status(`${authz}/notm/x`), 200);
    assert.equal(await status(`${authz}/notm/x`, { method: 'POST' }), 403);
    assert.equal(await status(`${authz}/host/x`), 200);
    assert.equal(await status(`${authz}/nothost/x`), 403);
    assert.equal(await status(`${authz}/port/x`), 200);
    assert.equal(await status(`${authz}/notport/x`), 403);
    const np = { headers: { 'x-np': '1' } };
    assert.equal(await status(`${authz}/np/ok`, np), 200);
    assert.equal(await status(`${authz}/np/secret/x`, np), 403);
  });

  test('when: request.headers (values with prefix, notValues), source.ip, remote.ip, destination.ip/port', async () => {
    assert.equal(await status(`${authz}/hdr/x`, { headers: { 'x-team': 'blue' } }), 200);
    assert.equal(await status(`${authz}/hdr/x`, { headers: { 'x-team': 'green' } }), 200);
    assert.equal(await status(`${authz}/hdr/x`, { headers: { 'x-team': 'red' } }), 403);
    assert.equal(await status(`${authz}/hdr/x`), 403);
    assert.equal(await status(`${authz}/nothdr/x`, { headers: { 'x-team': 'blue' } }), 200);
    assert.equal(await status(`${authz}/nothdr/x`, { headers: { 'x-team': 'red' } }), 403);
    assert.equal(await status(`${authz}/wsip/x`), 200);
    const xff = { headers: { 'x-forwarded-for': '1.2.3.4' } };
    assert.equal(await status(`${authz}/wrip/x`, xff), 200);
    assert.equal(await status(`${authz}/wrip/x`), 403);
    assert.equal(await status(`${authz}/wdip/x`), 200);
    assert.equal(await status(`${authz}/wdport/x`), 200);
    assert.equal(await status(`${authz}/wdportnot/x`), 403);
  });

  test('from.source: ipBlocks, remoteIpBlocks (x-forwarded-for) and their not forms', async () => {
    assert.equal(await status(`${authz}/ip/x`), 200);
    assert.equal(await status(`${authz}/notip/x`), 403);
    const xff = { headers: { 'x-forwarded-for': '9.9.9.9, 1.2.3.4' } };
    assert.equal(await status(`${authz}/rip/x`, xff), 200);
    assert.equal(await status(`${authz}/rip/x`), 403);
    assert.equal(await status(`${authz}/notrip/x`, xff), 403);
    assert.equal(await status(`${authz}/notrip/x`), 200);
  });

  test('requestPrincipals and request.auth.* from the verified JWT (RequestAuthentication)', async () => {
    const withJwt = { headers: bearer() };
    for (const key of ['reqp', 'wap', 'waud', 'wpres', 'wgrp', 'wnest']) {
      assert.equal(await status(`${authz}/${key}/x`, withJwt), 200, `${key} with the token`);
      assert.equal(await status(`${authz}/${key}/x`), 403, `${key} without a token`);
    }
    assert.equal(await status(`${authz}/notreqp/x`), 200, 'no request principal');
    assert.equal(await status(`${authz}/notreqp/x`, withJwt), 403);
  });

  test('mTLS identity: principals, namespaces, serviceAccounts, their not forms, source.* and connection.sni', async () => {
    // The client sidecar's SNI names the destination (Istio's outbound_.9080_._.<host>).
    assert.equal(await status(`${authz}/wsni/x`), 200);
    assert.equal(await status(`${authz}/wsninot/x`), 403);
    for (const key of ['pr', 'ns', 'sa', 'wpr', 'wns', 'wsa']) {
      assert.equal(await status(`${authz}/${key}/x`), 200, `${key} from default/client`);
      assert.equal(await status(`${authz}/${key}/x`, {}, other()), 403, `${key} from other/other`);
    }
    for (const key of ['notpr', 'notns', 'notsa']) {
      assert.equal(await status(`${authz}/${key}/x`), 403, `${key} from default/client`);
      assert.equal(await status(`${authz}/${key}/x`, {}, other()), 200, `${key} from other/other`);
    }
    // A DENY on notNamespaces: `other` is denied, `default` is not.
    assert.equal(await status('http://deny.default:9080/ns-only'), 200);
    assert.equal(await status('http://deny.default:9080/ns-only', {}, other()), 403);
  });

  test('DENY: matching requests get 403, others pass (no ALLOW policy); AUDIT does not block', async () => {
    const d = 'http://deny.default:9080';
    const denied = await send(client(), `${d}/admin/x`);
    assert.equal(denied.status, 403);
    assert.equal(denied.body, DENIED);
    assert.equal(await status(`${d}/public`), 200);
    assert.equal(await status(`${d}/public`, { headers: { 'x-block': 'anything' } }), 403);
    assert.equal(await status(`${d}/audit/x`), 200, 'AUDIT only logs');
  });

  test('allow-nothing (ALLOW without rules) and deny-all (DENY with an empty rule)', async () => {
    assert.equal(await status('http://closed:9080/'), 403);
    assert.equal(await status('http://closed:9080/x', { method: 'POST' }), 403);
    assert.equal(await status('http://locked:9080/'), 403);
    assert.equal(await status('http://locked.default:9080/', {}, other()), 403);
  });

  test('CUSTOM: the authorizer allows (headers to upstream and client) or denies (its answer)', async () => {
    checks = [];
    const ok = await send(client(), 'http://ext:9080/ext/x?q=1', {
      headers: { 'x-ext-authz': 'allow', 'x-user': 'spoofed', 'x-other': 'not-sent' },
    });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(seen(ok).headers['x-user'], 'alice-from-authz', 'headersToUpstreamOnAllow');
    assert.equal(seen(ok).headers['x-not-forwarded'], undefined);
    assert.equal(ok.headers['x-ext-authz-check-result'], 'allowed', 'headersToDownstreamOnAllow');
    const check = checks.at(-1);
    assert.ok(check);
    assert.equal(check.url, '/check/ext/x?q=1', 'pathPrefix + path');
    assert.equal(check.headers['x-ext-authz'], 'allow', 'includeRequestHeadersInCheck');
    assert.equal(check.headers['x-added'], 'from-skiff', 'includeAdditionalHeadersInCheck');
    assert.equal(check.headers['x-other'], undefined, 'only the listed headers');
    const no = await send(client(), 'http://ext:9080/ext/x', {
      headers: { 'x-ext-authz': 'deny' },
    });
    assert.equal(no.status, 403);
    assert.equal(no.body, 'denied by ext_authz');
    assert.equal(no.headers['x-ext-authz-check-result'], 'denied', 'headersToDownstreamOnDeny');
    assert.equal(no.headers['x-secret'], undefined, 'only the listed headers reach the client');
    // Requests the CUSTOM rules do not match never reach the authorizer.
    const before = checks.length;
    assert.equal(await status('http://ext:9080/free/x'), 200);
    assert.equal(checks.length, before);
  });

  test('order CUSTOM → DENY → ALLOW', async () => {
    // The authorizer answers first: its denial, not the DENY policy's.
    const both = await send(client(), 'http://ext:9080/ext/deny', {
      headers: { 'x-ext-authz': 'no' },
    });
    assert.equal(both.body, 'denied by ext_authz');
    // Allowed by the authorizer, then denied by DENY.
    const d = await send(client(), 'http://ext:9080/ext/deny', {
      headers: { 'x-ext-authz': 'allow' },
    });
    assert.equal(d.status, 403);
    assert.equal(d.body, DENIED);
    assert.equal(await status('http://ext:9080/free/deny'), 403);
    // ALLOW last: not allowed by ext-allow.
    assert.equal(await status('http://ext:9080/free/closed'), 403);
  });

  test('gateway: remoteIpBlocks read x-forwarded-for with numTrustedProxies (mesh config)', async () => {
    const port = mesh.record.gateway.ports[0]?.hostPort;
    assert.ok(port, 'the gateway listens');
    const get = (xff?: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            path: '/public',
            agent,
            headers: { host: 'authz.example.com', ...(xff ? { 'x-forwarded-for': xff } : {}) },
          },
          (res) => {
            res.resume();
            res.once('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.once('error', reject);
        req.end();
      });
    assert.equal(await get(), 200);
    // One trusted proxy: the client is the last address it appended.
    assert.equal(await get('5.6.7.8'), 403);
    assert.equal(await get('5.6.7.8, 9.9.9.9'), 200);
  });

  test('CUSTOM failOpen: an authorizer that is down lets requests through', async () => {
    const r = await send(client(), 'http://extdown:9080/x');
    assert.equal(r.status, 200, r.body);
  });

  test('TCP: ALLOW opens a port; one needing HTTP fields does not; DENY with HTTP fields still denies', async () => {
    assert.match(await tcpGreeting(client(), 'tcp:7001'), /^tcp tcp-a\n/);
    assert.doesNotMatch(await tcpGreeting(client(), 'tcp:7002'), /tcp-b/);
    assert.doesNotMatch(await tcpGreeting(client(), 'tcp:7003'), /tcp-c/);
  });

  // The client sidecar originates auto mTLS on tunnelled TCP too, so the server sees a peer.
  test('TCP with mTLS: the peer principal opens a port to one client only', async () => {
    assert.match(await tcpGreeting(client(), 'tcp.default:7004'), /^tcp tcp-d\n/);
    assert.doesNotMatch(await tcpGreeting(other(), 'tcp.default:7004'), /tcp-d/);
  });
});
