import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { buildCsr } from './csr.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'skiff-csr-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const ID = 'spiffe://cluster.local/ns/default/sa/reviews';

/** What openssl printed, both streams. */
function openssl(args: string[]): string {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  return `${r.stdout}${r.stderr}`;
}

test('the CSR verifies with openssl: empty subject, EC P-256, a critical SAN with the SPIFFE URI', async () => {
  const { csr, privateKey } = await buildCsr(ID);
  const file = path.join(tmp, 'req.pem');
  writeFileSync(file, csr);
  const text = openssl(['req', '-in', file, '-noout', '-verify', '-text']);
  assert.match(text, /verify OK/);
  assert.match(text, /Subject:\s*\n/);
  assert.match(text, /ASN1 OID: prime256v1/);
  assert.match(
    text,
    /X509v3 Subject Alternative Name: critical\s*\n\s*URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/reviews\s*\n/,
  );
  assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
  // The key that goes with it is a P-256 PKCS#8 key.
  const key = createPrivateKey(privateKey);
  assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.match(privateKey, /^-----BEGIN PRIVATE KEY-----\n/);
});

test('a tampered CSR fails openssl verification', async () => {
  const { csr } = await buildCsr(ID);
  const der = Buffer.from(csr.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  // Flip a byte of the SPIFFE URI inside the signed part.
  const at = der.indexOf(Buffer.from('reviews'));
  der[at] = 'R'.charCodeAt(0);
  const file = path.join(tmp, 'tampered.der');
  writeFileSync(file, der);
  // OpenSSL 3.0 exits 0 either way: what it says is the verdict.
  const text = openssl(['req', '-in', file, '-inform', 'DER', '-noout', '-verify']);
  assert.match(text, /verify failure/);
  assert.doesNotMatch(text, /verify OK/);
});
