// The CA: a root made once and kept (key 0600), leaf certificates for exactly the proven SPIFFE
// id with Istio's usages, lifetimes capped, and plugged-in certificates with their chain.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { buildCsr } from '../../proxy/identity/csr.js';
import type { CaError } from './authority.js';
import { CA_FILES, CertificateAuthority } from './authority.js';
import { EC_P256, generateEcKeys, privateKeyPem, x509 } from '../../pki/x509.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'skiff-ca-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const ID = 'spiffe://cluster.local/ns/default/sa/reviews';

describe('a self-signed root', () => {
  const dir = path.join(tmp, 'self');

  test('is made on first start with its key 0600, and reused on the next', async () => {
    const first = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local' });
    assert.equal(statSync(path.join(dir, CA_FILES.caKey)).mode & 0o777, 0o600);
    const again = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local' });
    assert.equal(again.rootCertPem, first.rootCertPem);
    const root = new X509Certificate(first.rootCertPem);
    assert.equal(root.ca, true);
    assert.ok(root.verify(root.publicKey));
  });

  test('signs a CSR for the proven id: SPIFFE URI SAN, usages, 24 h, chain leaf…root', async () => {
    const ca = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local' });
    const { csr } = await buildCsr(ID);
    const signed = await ca.signWorkload(csr, ID);
    assert.equal(signed.chain.length, 2);
    const leaf = new X509Certificate(signed.chain[0]!);
    const root = new X509Certificate(signed.chain[1]!);
    assert.ok(leaf.verify(root.publicKey));
    assert.equal(leaf.subjectAltName, `URI:${ID}`);
    assert.deepEqual(leaf.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    assert.equal(leaf.ca, false);
    const life = Date.parse(leaf.validTo) - Date.now();
    assert.ok(life > 23.9 * 3600_000 && life <= 24 * 3600_000, `lifetime ${life}`);
  });

  test('refuses a CSR for any other identity, or with extra names', async () => {
    const ca = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local' });
    const other = await buildCsr('spiffe://cluster.local/ns/default/sa/admin');
    await assert.rejects(ca.signWorkload(other.csr, ID), (e: CaError) => {
      assert.equal(e.code, 'ERR_CA_IDENTITY');
      assert.match(e.message, /sa\/admin.*proved.*sa\/reviews/);
      return true;
    });
    const keys = await generateEcKeys();
    const two = await x509.Pkcs10CertificateRequestGenerator.create({
      keys,
      signingAlgorithm: EC_P256,
      extensions: [
        new x509.SubjectAlternativeNameExtension([
          { type: 'url', value: ID },
          { type: 'dns', value: 'evil.example' },
        ]),
      ],
    });
    await assert.rejects(ca.signWorkload(two.toString('pem'), ID), /ERR_CA_IDENTITY|asks for/);
    await assert.rejects(ca.signWorkload('not a csr', ID), (e: CaError) => e.code === 'ERR_CA_CSR');
  });

  test('caps the lifetime a CSR asks for at the maximum', async () => {
    const ca = await CertificateAuthority.open({
      dir,
      trustDomain: 'cluster.local',
      defaultTtlMs: 5000,
      maxTtlMs: 60_000,
    });
    const { csr } = await buildCsr(ID);
    const short = new X509Certificate((await ca.signWorkload(csr, ID)).cert);
    assert.ok(Date.parse(short.validTo) - Date.now() <= 5000);
    const long = new X509Certificate((await ca.signWorkload(csr, ID, 3600_000)).cert);
    assert.ok(Date.parse(long.validTo) - Date.now() <= 60_000);
  });
});

describe('plugged-in certificates', () => {
  test('sign with the intermediate; the chain carries it, the root comes last', async () => {
    const dir = path.join(tmp, 'plugged');
    const rootKeys = await generateEcKeys();
    const root = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'O=Plugged Root',
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      signingAlgorithm: EC_P256,
      keys: rootKeys,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    });
    const midKeys = await generateEcKeys();
    const mid = await x509.X509CertificateGenerator.create({
      serialNumber: '02',
      subject: 'O=Plugged Intermediate',
      issuer: root.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      signingAlgorithm: EC_P256,
      signingKey: rootKeys.privateKey,
      publicKey: midKeys.publicKey,
      extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
    });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    const rootPem = root.toString('pem') + '\n';
    const midPem = mid.toString('pem') + '\n';
    writeFileSync(path.join(dir, CA_FILES.caCert), midPem);
    writeFileSync(path.join(dir, CA_FILES.caKey), await privateKeyPem(midKeys.privateKey));
    writeFileSync(path.join(dir, CA_FILES.rootCert), rootPem);
    writeFileSync(path.join(dir, CA_FILES.certChain), midPem + rootPem);
    const ca = await CertificateAuthority.open({
      dir: path.join(tmp, 'unused'),
      pluggedDir: dir,
      trustDomain: 'cluster.local',
    });
    assert.match(ca.source, /plugged-in/);
    const { csr } = await buildCsr(ID);
    const { chain } = await ca.signWorkload(csr, ID);
    assert.equal(chain.length, 3);
    const [leaf, inter, top] = chain.map((p) => new X509Certificate(p));
    assert.ok(leaf!.verify(inter!.publicKey));
    assert.equal(inter!.subject, 'O=Plugged Intermediate');
    assert.equal(top!.subject, 'O=Plugged Root');
    assert.ok(await ca.issued(new x509.X509Certificate(chain[0]!)));
  });
});
