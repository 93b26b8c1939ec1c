// A fresh EC P-256 key and a PKCS#10 CSR whose only SAN is the workload's SPIFFE URI (what
// Istio's agent sends; the subject stays empty).
import { EC_P256, generateEcKeys, privateKeyPem, x509 } from '../../pki/x509.js';

export async function buildCsr(spiffeUri: string): Promise<{ privateKey: string; csr: string }> {
  const keys = await generateEcKeys();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: EC_P256,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeUri }])],
  });
  return { privateKey: await privateKeyPem(keys.privateKey), csr: csr.toString('pem') };
}
