// Mesh mTLS on real sockets, with the control plane's own generated pieces: an outbound tcp_proxy
// cluster with Istio's auto-mTLS transport_socket_matches, and inbound listeners under STRICT and
// PERMISSIVE (inbound-tls.ts). Identities are SPIFFE certificates made with openssl.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { inboundChains, inboundListenerFields } from '../../control-plane/generate/inbound-tls.js';
import { autoMtlsMatches, istioMutualTransportSocket } from '../../control-plane/generate/mtls.js';
import type { Pem } from '../../../test/support/tls.js';
import { makeCa, makeLeaf } from '../../../test/support/tls.js';
import { installIdentity } from '../identity/files.js';
import {
  backend,
  connect,
  dataPlane,
  readAll,
  socketListener,
  tcpProxyFilter,
} from '../listeners/testing.js';
import { peerPrincipal } from './peer-identity.js';
import { proxySecrets } from './secret-store.js';

type Obj = Record<string, unknown>;

const ID = 'spiffe://cluster.local/ns/default/sa/web';
let dir: string;
let ca: Pem;
let foreignLeaf: Pem;
let own: Pem;
let echo: Awaited<ReturnType<typeof backend>>;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-mtls-'));
  ca = makeCa(dir, 'root');
  own = makeLeaf(dir, 'web', ca, [`URI:${ID}`]);
  const foreign = makeCa(dir, 'foreign');
  foreignLeaf = makeLeaf(dir, 'intruder', foreign, [`URI:${ID}`]);
  installIdentity(proxySecrets, { certChain: own.cert, privateKey: own.key, rootCert: ca.cert });
  // Echoes "ok:<data>" and closes.
  echo = await backend((s) => s.once('data', (d: Buffer) => s.end(`ok:${d.toString()}`)));
});

after(() => {
  echo.close();
  rmSync(dir, { recursive: true, force: true });
});

function inboundListener(mode: 'STRICT' | 'PERMISSIVE', app = 'app'): Obj {
  const chains = inboundChains(mode, false, 'inbound|9000||', [tcpProxyFilter({ cluster: app })]);
  return socketListener(`inbound-${mode}`, {
    traffic_direction: 'INBOUND',
    ...inboundListenerFields(chains),
  });
}

/** The client sidecar's cluster to `port`, auto mTLS by the endpoint's tlsMode. */
function meshCluster(name: string, port: number, tlsMode: string): Obj {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '2s',
    lb_policy: 'ROUND_ROBIN',
    transport_socket_matches: autoMtlsMatches(
      istioMutualTransportSocket({
        sni: 'outbound_.9000_._.web',
        subjectAltNames: [ID],
        http2: false,
      }),
    ),
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            {
              endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
              metadata: { filter_metadata: { 'envoy.transport_socket_match': { tlsMode } } },
            },
          ],
        },
      ],
    },
  };
}

function appCluster(name = 'app', port?: number): Obj {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '2s',
    lb_policy: 'ROUND_ROBIN',
    load_assignment: {
      cluster_name: 'app',
      endpoints: [
        {
          lb_endpoints: [
            {
              endpoint: {
                address: {
                  socket_address: { address: '127.0.0.1', port_value: port ?? echo.port },
                },
              },
            },
          ],
        },
      ],
    },
  };
}

async function say(port: number, text: string): Promise<string> {
  const s = connect(port);
  s.write(text);
  return readAll(s);
}

/** A client with its own certificate (from `pem`, or none), offering Istio's ALPN. */
function tlsClient(port: number, pem: Pem | undefined, root: Pem): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({
      port,
      host: '127.0.0.1',
      ...(pem ? { cert: pem.cert, key: pem.key } : {}),
      ca: root.cert,
      ALPNProtocols: ['istio-peer-exchange', 'istio'],
      checkServerIdentity: () => undefined,
    });
    let text = '';
    s.on('secureConnect', () => s.write('hello'));
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('error', () => resolve(`error:${text}`));
    s.on('close', () => resolve(text));
  });
}

test('auto mTLS to a STRICT inbound: mesh clients pass, plaintext and foreign roots are refused', async () => {
  const plane = dataPlane([appCluster()]);
  try {
    const [inbound = 0] = await plane.apply([inboundListener('STRICT')]);
    // The second plane is the client sidecar (same process: same identity store).
    const client = dataPlane([meshCluster('mesh', inbound, 'istio')]);
    try {
      const [outbound = 0] = await client.apply([
        socketListener('out', {
          filter_chains: [{ filters: [tcpProxyFilter({ cluster: 'mesh' })] }],
        }),
      ]);
      assert.equal(await say(outbound, 'a'), 'ok:a');
      assert.equal(await say(inbound, 'plain'), '', 'plaintext refused under STRICT');
      const mesh = makeLeaf(dir, 'mesh-client', ca, [`URI:spiffe://cluster.local/ns/x/sa/y`]);
      assert.equal(await tlsClient(inbound, mesh, ca), 'ok:hello');
      assert.doesNotMatch(await tlsClient(inbound, foreignLeaf, ca), /ok:/, 'foreign root refused');
    } finally {
      await client.close();
    }
  } finally {
    await plane.close();
  }
});

test('PERMISSIVE: plaintext and mTLS on one port; tlsMode disabled endpoints get plaintext', async () => {
  const plane = dataPlane([appCluster()]);
  try {
    const [inbound = 0] = await plane.apply([inboundListener('PERMISSIVE')]);
    assert.equal(await say(inbound, 'plain'), 'ok:plain');
    const mesh = makeLeaf(dir, 'mesh-client2', ca, ['URI:spiffe://cluster.local/ns/x/sa/z']);
    assert.equal(await tlsClient(inbound, mesh, ca), 'ok:hello');
    // A plain app endpoint (no sidecar): the client must not speak TLS to it.
    const client = dataPlane([meshCluster('mesh', echo.port, 'disabled')]);
    try {
      const [outbound = 0] = await client.apply([
        socketListener('out', {
          filter_chains: [{ filters: [tcpProxyFilter({ cluster: 'mesh' })] }],
        }),
      ]);
      assert.equal(await say(outbound, 'b'), 'ok:b');
    } finally {
      await client.close();
    }
  } finally {
    await plane.close();
  }
});

test('peerPrincipal: the verified URI SAN without spiffe://, nothing for plaintext', async () => {
  const seen = await new Promise<string | undefined>((resolve, reject) => {
    const server = tls.createServer(
      { cert: foreignLeaf.cert, key: foreignLeaf.key, ca: ca.cert, requestCert: true },
      (s) => {
        resolve(peerPrincipal(s));
        s.end();
        server.close();
      },
    );
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      const leaf = makeLeaf(dir, 'peer', ca, ['URI:spiffe://cluster.local/ns/a/sa/b']);
      const c = tls.connect({
        port,
        host: '127.0.0.1',
        cert: leaf.cert,
        key: leaf.key,
        rejectUnauthorized: false,
      });
      c.on('error', reject);
    });
  });
  assert.equal(seen, 'cluster.local/ns/a/sa/b');
  assert.equal(peerPrincipal(connect(1)), undefined);
});

/** A mesh server presenting `pem` and requiring a client certificate of `ca`; echoes "ok:<data>". */
async function meshServer(pem: Pem): Promise<{ port: number; close: () => void }> {
  const server = tls.createServer(
    { cert: pem.cert, key: pem.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true },
    (s) => {
      s.on('error', () => undefined);
      s.once('data', (d: Buffer) => s.end(`ok:${d.toString()}`));
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

/** A client sidecar whose tcp_proxy listener goes to `cluster`; returns its port and closer. */
async function clientSidecar(cluster: Obj): Promise<{ port: number; close: () => Promise<void> }> {
  const plane = dataPlane([cluster]);
  const [port = 0] = await plane.apply([
    socketListener('out', {
      filter_chains: [{ filters: [tcpProxyFilter({ cluster: cluster['name'] })] }],
    }),
  ]);
  assert.ok(port > 0);
  return { port, close: () => plane.close() };
}

test('secure naming: the client refuses a mesh server whose SPIFFE ID is not the destination’s', async () => {
  const right = await meshServer(makeLeaf(dir, 'right', ca, [`URI:${ID}`]));
  const other = 'URI:spiffe://cluster.local/ns/default/sa/other';
  const impostor = await meshServer(makeLeaf(dir, 'impostor', ca, [other]));
  const toRight = await clientSidecar(meshCluster('right', right.port, 'istio'));
  const toImpostor = await clientSidecar(meshCluster('impostor', impostor.port, 'istio'));
  try {
    assert.equal(await say(toRight.port, 'a'), 'ok:a', 'the destination’s own identity passes');
    assert.equal(await say(toImpostor.port, 'a'), '', 'same root, other SPIFFE ID: refused');
  } finally {
    await toRight.close();
    await toImpostor.close();
    right.close();
    impostor.close();
  }
});

test('STRICT: no client certificate, and a silent client past the inspector timeout, get nothing', async () => {
  // A server-first app: it speaks as soon as a connection reaches it.
  const banner = await backend((s) => s.end('banner'));
  const strictPlane = dataPlane([appCluster('banner', banner.port)]);
  const permissivePlane = dataPlane([appCluster('banner', banner.port)]);
  try {
    const [strict = 0] = await strictPlane.apply([inboundListener('STRICT', 'banner')]);
    const [permissive = 0] = await permissivePlane.apply([inboundListener('PERMISSIVE', 'banner')]);
    assert.ok(strict > 0 && permissive > 0);
    const mesh = makeLeaf(dir, 'banner-client', ca, ['URI:spiffe://cluster.local/ns/x/sa/b']);
    assert.match(await tlsClient(strict, mesh, ca), /banner/, 'a mesh client reaches the app');
    assert.doesNotMatch(await tlsClient(strict, undefined, ca), /banner/, 'TLS without a cert');
    // The tls_inspector gives up after 1s and continues: raw_buffer, which STRICT has no chain for.
    assert.equal(await readAll(connect(strict)), '', 'silent plaintext client under STRICT');
    assert.equal(await readAll(connect(permissive)), 'banner', 'PERMISSIVE lets it through');
  } finally {
    await strictPlane.close();
    await permissivePlane.close();
    banner.close();
  }
});

/** The SAN text of the certificate the server at `port` presents to a client of `pem`. */
function serverSan(port: number, pem: Pem, root: Pem): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      port,
      host: '127.0.0.1',
      cert: pem.cert,
      key: pem.key,
      ca: root.cert,
      ALPNProtocols: ['istio'],
      checkServerIdentity: () => undefined,
    });
    s.once('secureConnect', () => {
      resolve(s.getPeerCertificate().subjectaltname ?? '');
      s.destroy();
    });
    s.once('error', reject);
  });
}

test('rotation: a new default and ROOTCA apply to the next handshake, without a restart', async () => {
  const plane = dataPlane([appCluster()]);
  const root2 = makeCa(dir, 'root2');
  try {
    const [inbound = 0] = await plane.apply([inboundListener('STRICT')]);
    const oldClient = makeLeaf(dir, 'old-client', ca, ['URI:spiffe://cluster.local/ns/x/sa/old']);
    assert.equal(await serverSan(inbound, oldClient, ca), `URI:${ID}`);
    const next = makeLeaf(dir, 'web-next', root2, [
      'URI:spiffe://cluster.local/ns/default/sa/next',
    ]);
    installIdentity(proxySecrets, {
      certChain: next.cert,
      privateKey: next.key,
      rootCert: root2.cert,
    });
    const newClient = makeLeaf(dir, 'new-client', root2, ['URI:spiffe://cluster.local/ns/x/sa/n']);
    assert.equal(
      await serverSan(inbound, newClient, root2),
      'URI:spiffe://cluster.local/ns/default/sa/next',
    );
    assert.equal(await tlsClient(inbound, newClient, root2), 'ok:hello');
    assert.doesNotMatch(await tlsClient(inbound, oldClient, root2), /ok:/, 'old root dropped');
  } finally {
    installIdentity(proxySecrets, { certChain: own.cert, privateKey: own.key, rootCert: ca.cert });
    await plane.close();
  }
});
