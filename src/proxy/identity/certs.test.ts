// The admin /certs body (Envoy's Certificates JSON) and istioctl's secret table from it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { CertificateAuthority } from '../../control-plane/ca/authority.js';
import { certsReport, secretRows } from './certs.js';
import { buildCsr } from './csr.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'skiff-certs-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const ID = 'spiffe://cluster.local/ns/default/sa/reviews';

test('lists the chain and the root with serial, SANs and days until expiration', async () => {
  const ca = await CertificateAuthority.open({ dir: tmp, trustDomain: 'cluster.local' });
  const { csr, privateKey } = await buildCsr(ID);
  const { cert } = await ca.signWorkload(csr, ID, 3 * 86_400_000);
  const report = certsReport({ certChain: cert, privateKey, rootCert: ca.rootCertPem });
  const [entry] = report.certificates;
  assert.equal(entry!.cert_chain.length, 1);
  assert.deepEqual(entry!.cert_chain[0]!.subject_alt_names, [{ uri: ID }]);
  assert.equal(entry!.cert_chain[0]!.days_until_expiration, '2');
  assert.match(entry!.cert_chain[0]!.serial_number, /^[0-9a-f]+$/);
  assert.equal(entry!.ca_cert[0]!.path, 'ROOTCA');
  const rows = secretRows(report);
  assert.deepEqual(
    rows.map((r) => r.slice(0, 4)),
    [
      ['default', 'Cert Chain', 'ACTIVE', 'true'],
      ['ROOTCA', 'CA', 'ACTIVE', 'true'],
    ],
  );
  assert.deepEqual(certsReport(undefined), { certificates: [] });
});
