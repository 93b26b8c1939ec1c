// The control plane as certificate authority, end to end: real `skiff control-plane` and
// `skiff up` processes, CSRs over gRPC/TLS, and openssl checking what the CA signs. Covers
// token and certificate proofs, refusals, plugged-in certificates, ADS over TLS, rotation under
// traffic, and a proxy started by hand with `skiff token`.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  caServiceDefinition,
  type IstioCertificateRequest,
  type IstioCertificateResponse,
} from '../src/pki/ca-api.js';
import { mintToken, loadOrCreateTokenKey } from '../src/control-plane/ca/token.js';
import { EC_P256, generateEcKeys, privateKeyPem, x509 } from '../src/pki/x509.js';
import type { ControlPlaneReady } from '../src/control-plane/options.js';
import type { Mesh } from '../src/launcher/mesh.js';
import { startMesh } from '../src/launcher/mesh.js';
import { checkControlPlaneIdentity } from '../src/proxy/identity/agent.js';
import type { CertsReport } from '../src/proxy/identity/certs.js';
import { buildCsr } from '../src/proxy/identity/csr.js';
import { XdsClient } from '../src/proxy/xds-client/xds-client.js';
import { TypeUrl } from '../src/xds/types.js';
import {
  SKIFF,
  VERSION_SERVER,
  closeAgent,
  eventually,
  getJson,
  tempTree,
  viaProxy,
} from './support/skiff.js';

const ID = (ns: string, sa: string) => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;
type CaClient = grpc.Client & {
  CreateCertificate(
    req: IstioCertificateRequest,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: IstioCertificateResponse) => void,
  ): void;
};
const CaClientCtor = grpc.makeGenericClientConstructor(
  caServiceDefinition,
  'IstioCertificateService',
) as unknown as new (address: string, creds: grpc.ChannelCredentials) => CaClient;

/** One CreateCertificate call; resolves with the chain or rejects with the gRPC error. */
async function createCertificate(
  address: string,
  creds: grpc.ChannelCredentials,
  csr: string,
  token?: string,
): Promise<string[]> {
  const client = new CaClientCtor(address, creds);
  const md = new grpc.Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  try {
    return await new Promise<string[]>((resolve, reject) =>
      client.CreateCertificate({ csr }, md, { deadline: Date.now() + 20_000 }, (err, res) =>
        err ? reject(err) : resolve(res!.cert_chain),
      ),
    );
  } finally {
    client.close();
  }
}

function tlsTo(rootPem: string | Buffer, key?: string, chain?: string): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(
    Buffer.from(rootPem),
    key ? Buffer.from(key) : null,
    chain ? Buffer.from(chain) : null,
    { checkServerIdentity: checkControlPlaneIdentity },
  );
}

function openssl(args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Writes leaf, intermediates and root to files; openssl verifies the leaf against the root. */
function opensslVerify(dir: string, chain: readonly string[], rootFile: string): string {
  mkdirSync(dir, { recursive: true });
  const leaf = path.join(dir, 'leaf.pem');
  writeFileSync(leaf, chain[0]!);
  const middle = chain.slice(1, -1);
  const untrusted = path.join(dir, 'untrusted.pem');
  writeFileSync(untrusted, middle.join(''));
  return openssl([
    'verify',
    '-CAfile',
    rootFile,
    ...(middle.length ? ['-untrusted', untrusted] : []),
    leaf,
  ]);
}

/** `skiff control-plane` on free ports; resolves with its ready record. */
async function startControlPlane(
  stateDir: string,
  extra: string[] = [],
): Promise<{ child: ChildProcess; ready: ControlPlaneReady; log: () => string }> {
  const config = path.join(stateDir, '..', 'config');
  mkdirSync(config, { recursive: true });
  let output = '';
  const child = spawn(
    SKIFF[0]!,
    [
      ...SKIFF.slice(1),
      'control-plane',
      ...['--config', config, '--state-dir', stateDir],
      ...['--grpc-port', '0', '--grpc-tls-port', '0', '--http-port', '0'],
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const file = path.join(stateDir, 'control-plane.json');
  const ready = await eventually(
    'the control plane',
    () => existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as ControlPlaneReady),
    60_000,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${output}`);
  });
  return { child, ready, log: () => output };
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

describe('the CA of `skiff control-plane`', () => {
  const dir = tempTree('skiff-ca-', {});
  const stateDir = path.join(dir, 'state');
  let cp: Awaited<ReturnType<typeof startControlPlane>>;
  let root = '';
  let rootFile = '';
  let key: Uint8Array;

  before(async () => {
    cp = await startControlPlane(stateDir);
    rootFile = cp.ready.caRootCert!;
    root = readFileSync(rootFile, 'utf8');
    key = loadOrCreateTokenKey(path.join(stateDir, 'ca'));
  });
  after(async () => {
    await stopChild(cp?.child);
    rmSync(dir, { recursive: true, force: true });
  });

  test('keeps its root key 0600 in the state dir', () => {
    assert.equal(statSync(path.join(stateDir, 'ca', 'ca-key.pem')).mode & 0o777, 0o600);
    assert.equal(statSync(path.join(stateDir, 'ca', 'token-key')).mode & 0o777, 0o600);
  });

  test('signs a CSR proved by a token: openssl verifies the chain and shows the SPIFFE URI', async () => {
    const { csr } = await buildCsr(ID('default', 'reviews'));
    const token = mintToken(key, { namespace: 'default', serviceAccount: 'reviews' });
    const chain = await createCertificate(cp.ready.grpcTlsAddress!, tlsTo(root), csr, token);
    assert.equal(chain.length, 2, 'leaf and root');
    assert.equal(chain[1]!.trim(), root.trim());
    assert.match(opensslVerify(path.join(dir, 'v1'), chain, rootFile), /leaf\.pem: OK/);
    const text = openssl(['x509', '-noout', '-text', '-in', path.join(dir, 'v1', 'leaf.pem')]);
    assert.match(text, /URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/reviews/);
    assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
    assert.match(text, /Digital Signature, Key Encipherment/);
  });

  test('refuses a CSR for another identity than the token proves', async () => {
    const { csr } = await buildCsr(ID('default', 'admin'));
    const token = mintToken(key, { namespace: 'default', serviceAccount: 'reviews' });
    await assert.rejects(
      createCertificate(cp.ready.grpcTlsAddress!, tlsTo(root), csr, token),
      (e: grpc.ServiceError) => {
        assert.equal(e.code, grpc.status.PERMISSION_DENIED);
        assert.match(e.details, /sa\/admin.*sa\/reviews/);
        return true;
      },
    );
  });

  test('refuses without a token (TLS and plaintext ports), and with an expired or forged one', async () => {
    const { csr } = await buildCsr(ID('default', 'reviews'));
    const id = { namespace: 'default', serviceAccount: 'reviews' };
    const unauthenticated = (why: RegExp) => (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.UNAUTHENTICATED, e.details);
      assert.match(e.details, why);
      return true;
    };
    await assert.rejects(
      createCertificate(cp.ready.grpcTlsAddress!, tlsTo(root), csr),
      unauthenticated(/no bootstrap token/),
    );
    await assert.rejects(
      createCertificate(cp.ready.grpcAddress, grpc.credentials.createInsecure(), csr),
      unauthenticated(/no bootstrap token/),
    );
    const expired = mintToken(key, id, 1000, Date.now() - 3600_000);
    await assert.rejects(
      createCertificate(cp.ready.grpcTlsAddress!, tlsTo(root), csr, expired),
      unauthenticated(/expired/),
    );
    const forged = mintToken(new Uint8Array(32).fill(7), id);
    await assert.rejects(
      createCertificate(cp.ready.grpcTlsAddress!, tlsTo(root), csr, forged),
      unauthenticated(/invalid/),
    );
  });

  test('renews with the current certificate as client certificate, no token needed', async () => {
    const first = await buildCsr(ID('default', 'ratings'));
    const token = mintToken(key, { namespace: 'default', serviceAccount: 'ratings' });
    const chain = await createCertificate(cp.ready.grpcTlsAddress!, tlsTo(root), first.csr, token);
    const again = await buildCsr(ID('default', 'ratings'));
    const renewed = await createCertificate(
      cp.ready.grpcTlsAddress!,
      tlsTo(root, first.privateKey, chain[0]),
      again.csr,
    );
    const a = new X509Certificate(chain[0]!);
    const b = new X509Certificate(renewed[0]!);
    assert.notEqual(a.serialNumber, b.serialNumber);
    assert.equal(b.subjectAltName, `URI:${ID('default', 'ratings')}`);
    // The certificate proves its own identity only.
    const other = await buildCsr(ID('default', 'reviews'));
    await assert.rejects(
      createCertificate(
        cp.ready.grpcTlsAddress!,
        tlsTo(root, first.privateKey, chain[0]),
        other.csr,
      ),
      (e: grpc.ServiceError) => e.code === grpc.status.PERMISSION_DENIED,
    );
  });

  test('a client certificate from another root proves nothing', async () => {
    const foreign = await foreignIdentity(ID('default', 'ratings'));
    const { csr } = await buildCsr(ID('default', 'ratings'));
    await assert.rejects(
      createCertificate(cp.ready.grpcTlsAddress!, tlsTo(root, foreign.key, foreign.cert), csr),
      (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED,
    );
  });

  test('serves ADS over TLS; a client that does not trust the root cannot connect', async () => {
    const node = {
      id: 'sidecar~127.0.0.1~probe-0.default~default.svc.cluster.local',
      cluster: 'probe.default',
      metadata: {},
    };
    const got = await new Promise<string>((resolve, reject) => {
      const client = new XdsClient({
        address: cp.ready.grpcTlsAddress!,
        node: node as never,
        credentials: tlsTo(root),
        onResources: (typeUrl) => {
          client.stop();
          resolve(typeUrl);
        },
      });
      client.start();
      setTimeout(() => {
        client.stop();
        reject(new Error('no xDS response over TLS in 30 s'));
      }, 30_000).unref();
    });
    assert.equal(got, TypeUrl.Cluster);

    const foreign = await foreignIdentity(ID('default', 'x'));
    const errors: string[] = [];
    const stranger = new XdsClient({
      address: cp.ready.grpcTlsAddress!,
      node: node as never,
      credentials: tlsTo(foreign.root),
      onResources: () => {
        errors.push('got resources');
      },
      log: (line) => errors.push(line),
      backoff: { initialMs: 50, maxMs: 200 },
    });
    stranger.start();
    await eventually('the untrusting client to fail', () =>
      errors.some((l) => /UNAVAILABLE|certificate|self.signed/i.test(l)),
    );
    stranger.stop();
    assert.ok(!errors.includes('got resources'));
    assert.equal(stranger.status().connected, false);
  });
});

describe('plugged-in CA certificates (--ca-cert-dir)', () => {
  const dir = tempTree('skiff-ca-plugged-', {});
  let cp: Awaited<ReturnType<typeof startControlPlane>> | undefined;
  after(async () => {
    await stopChild(cp?.child);
    rmSync(dir, { recursive: true, force: true });
  });

  test('sign with the plugged intermediate in the mesh trust domain; the chain verifies to the plugged root', async () => {
    const cacerts = path.join(dir, 'cacerts');
    await writePluggedCerts(cacerts);
    const stateDir = path.join(dir, 'state');
    // The trust domain comes from mesh config, as istiod's does.
    const meshConfig = path.join(dir, 'mesh.yaml');
    writeFileSync(meshConfig, 'trustDomain: example.org\n');
    cp = await startControlPlane(stateDir, ['--ca-cert-dir', cacerts, '--mesh-config', meshConfig]);
    assert.match(cp.log(), /plugged-in certificates/);
    const key = loadOrCreateTokenKey(path.join(stateDir, 'ca'));
    const root = readFileSync(path.join(cacerts, 'root-cert.pem'), 'utf8');
    assert.equal(readFileSync(cp.ready.caRootCert!, 'utf8'), root, 'proxies get the plugged root');
    const { csr } = await buildCsr('spiffe://example.org/ns/shop/sa/cart');
    const token = mintToken(key, { namespace: 'shop', serviceAccount: 'cart' });
    const chain = await createCertificate(cp.ready.grpcTlsAddress!, tlsTo(root), csr, token);
    assert.equal(chain.length, 3, 'leaf, intermediate, root');
    assert.equal(chain[1]!.trim(), readFileSync(path.join(cacerts, 'ca-cert.pem'), 'utf8').trim());
    const rootFile = path.join(cacerts, 'root-cert.pem');
    assert.match(opensslVerify(path.join(dir, 'v'), chain, rootFile), /leaf\.pem: OK/);
    // The intermediate is needed: the leaf alone does not verify against the root.
    assert.throws(() => opensslVerify(path.join(dir, 'v2'), [chain[0]!, chain[2]!], rootFile));
    // Another trust domain than the mesh's is another identity.
    const wrongDomain = await buildCsr(ID('shop', 'cart'));
    await assert.rejects(
      createCertificate(cp.ready.grpcTlsAddress!, tlsTo(root), wrongDomain.csr, token),
      (e: grpc.ServiceError) => e.code === grpc.status.PERMISSION_DENIED,
    );
  });
});

describe('skiff up: every proxy holds a CA identity, rotates it, and hand-started proxies join', () => {
  let dir = '';
  let mesh: Mesh | undefined;
  let hand: ChildProcess | undefined;

  before(async () => {
    dir = tempTree('skiff-ca-mesh-', {
      'server.mjs': VERSION_SERVER,
      'mesh.yaml': `
apiVersion: v1
kind: Service
metadata: { name: echo }
spec:
  selector: { app: echo }
  ports: [{ name: http, port: 8080, targetPort: 8080 }]
---
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata: { name: echo-v1, labels: { app: echo, version: v1 } }
spec:
  serviceAccount: echo
  command: [node, server.mjs]
  env: { VERSION: v1 }
  ports: [{ name: http, containerPort: 8080 }]
---
# STRICT: every request below crosses mTLS, so the rotations are tested on the data path.
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec:
  mtls: { mode: STRICT }
`,
    });
    mesh = await startMesh({
      dir: '.',
      cwd: dir,
      skiffCommand: SKIFF,
      ingressPort: 0,
      startTimeoutMs: 120_000,
      // istiod's knob: every workload certificate lives 6 s, so it is renewed every ~3 s.
      env: { ...process.env, DEFAULT_WORKLOAD_CERT_TTL: '6s' },
    });
  });
  after(async () => {
    closeAgent();
    await stopChild(hand);
    await mesh?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const certsOf = (adminPort: number) =>
    getJson<CertsReport>(`http://127.0.0.1:${adminPort}/certs`);

  test('each sidecar and the gateway hold the identity of their service account', async () => {
    const { record } = mesh!;
    const echo = record.instances[0]!;
    const leaf = (await certsOf(echo.adminPort)).certificates[0]!.cert_chain[0]!;
    assert.deepEqual(leaf.subject_alt_names, [{ uri: ID('default', 'echo') }]);
    const gw = (await certsOf(record.gateway.adminPort)).certificates[0]!.cert_chain[0]!;
    assert.deepEqual(gw.subject_alt_names, [
      { uri: ID('istio-system', 'istio-ingressgateway-service-account') },
    ]);
    assert.equal(
      statSync(path.join(record.stateDir, 'tokens', `${echo.name}.jwt`)).mode & 0o777,
      0o600,
    );
    // istioctl's table, from the admin /certs.
    const table = execFileSync(
      SKIFF[0]!,
      [...SKIFF.slice(1), 'proxy-config', 'secret', echo.name],
      {
        cwd: dir,
        encoding: 'utf8',
      },
    );
    assert.match(table, /^RESOURCE NAME\s+TYPE\s+STATUS\s+VALID CERT\s+SERIAL NUMBER/);
    assert.match(
      table,
      /\ndefault\s+Cert Chain\s+ACTIVE\s+true\s+[0-9a-f]+\s.*spiffe:\/\/cluster\.local\/ns\/default\/sa\/echo/,
    );
    assert.match(table, /\nROOTCA\s+CA\s+ACTIVE\s+true\s/);
  });

  test('a 6 s certificate is rotated twice while every request over STRICT mTLS succeeds', async () => {
    const echo = mesh!.record.instances[0]!;
    const serials = new Set<string>();
    const failures: string[] = [];
    let sent = 0;
    let running = true;
    const worker = async () => {
      while (running) {
        try {
          const r = await viaProxy(echo.outboundPort, 'http://echo:8080/');
          sent++;
          if (r.status !== 200) failures.push(`${r.status} ${r.body}`);
        } catch (e) {
          failures.push(String(e));
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    await eventually(
      'three different serials in /certs',
      async () => {
        const leaf = (await certsOf(echo.adminPort)).certificates[0]?.cert_chain[0];
        if (leaf) serials.add(leaf.serial_number);
        return serials.size >= 3;
      },
      60_000,
    );
    running = false;
    await Promise.all(workers);
    assert.ok(sent > 0);
    assert.deepEqual(failures, [], `all ${sent} requests succeeded across the rotations`);
  });

  test('`skiff token` lets a proxy started by hand join over TLS', async () => {
    const { record } = mesh!;
    assert.ok(record.controlPlane.grpcTlsAddress && record.controlPlane.caRootCert);
    const tokenFile = path.join(dir, 'hand.jwt');
    execFileSync(
      SKIFF[0]!,
      [
        ...SKIFF.slice(1),
        'token',
        ...['--namespace', 'default', '--service-account', 'handmade'],
        ...['--ttl', '10m', '--output-file', tokenFile],
      ],
      { cwd: dir, stdio: 'pipe' },
    );
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    const outbound = await freePort();
    const readyFile = path.join(dir, 'hand-ready.json');
    hand = spawn(
      SKIFF[0]!,
      [
        ...SKIFF.slice(1),
        'proxy',
        ...['--type', 'sidecar', '--name', 'handmade-0', '--namespace', 'default'],
        ...['--workload', 'handmade', '--service-account', 'handmade'],
        ...['--xds', record.controlPlane.grpcTlsAddress],
        ...['--ca-root-cert', record.controlPlane.caRootCert],
        ...['--token-file', tokenFile],
        ...['--admin-port', '0', '--outbound-port', String(outbound)],
        ...['--ready-file', readyFile],
      ],
      { stdio: 'ignore' },
    );
    const { adminAddress } = await eventually(
      'the hand-started proxy',
      () =>
        existsSync(readyFile) &&
        (JSON.parse(readFileSync(readyFile, 'utf8')) as { adminAddress: string }),
      60_000,
    );
    const certs = await getJson<CertsReport>(`http://${adminAddress}/certs`);
    assert.deepEqual(certs.certificates[0]!.cert_chain[0]!.subject_alt_names, [
      { uri: ID('default', 'handmade') },
    ]);
    const r = await eventually(
      'a request through the hand-started proxy',
      async () => {
        const reply = await viaProxy(outbound, 'http://echo:8080/');
        return reply.status === 200 && reply;
      },
      60_000,
    );
    assert.match(r.body, /^v1 echo-v1-0/);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A self-signed root and a leaf for `uri` under it: a different mesh's identity. */
async function foreignIdentity(uri: string): Promise<{ root: string; cert: string; key: string }> {
  const rootKeys = await generateEcKeys();
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '0a',
    name: 'O=Elsewhere',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3600_000),
    signingAlgorithm: EC_P256,
    keys: rootKeys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const leafKeys = await generateEcKeys();
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '0b',
    subject: '',
    issuer: root.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3600_000),
    signingAlgorithm: EC_P256,
    signingKey: rootKeys.privateKey,
    publicKey: leafKeys.publicKey,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }], true)],
  });
  return {
    root: root.toString('pem') + '\n',
    cert: leaf.toString('pem') + '\n',
    key: await privateKeyPem(leafKeys.privateKey),
  };
}

/** Istio's plugged-in layout made with openssl: root → intermediate (ca-cert, ca-key). */
async function writePluggedCerts(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const f = (name: string) => path.join(dir, name);
  writeFileSync(
    f('ext.cnf'),
    '[ca]\nbasicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\n',
  );
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('root-key.pem')]);
  openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    f('root-key.pem'),
    '-days',
    '30',
    '-subj',
    '/O=Plugged Root',
    '-addext',
    'basicConstraints=critical,CA:true',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    f('root-cert.pem'),
  ]);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('ca-key.pem')]);
  openssl([
    'req',
    '-new',
    '-key',
    f('ca-key.pem'),
    '-subj',
    '/O=Plugged Intermediate',
    '-out',
    f('ca.csr'),
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    f('ca.csr'),
    '-CA',
    f('root-cert.pem'),
    '-CAkey',
    f('root-key.pem'),
    '-CAcreateserial',
    '-days',
    '30',
    '-extfile',
    f('ext.cnf'),
    '-extensions',
    'ca',
    '-out',
    f('ca-cert.pem'),
  ]);
  writeFileSync(
    f('cert-chain.pem'),
    readFileSync(f('ca-cert.pem'), 'utf8') + readFileSync(f('root-cert.pem'), 'utf8'),
  );
}
