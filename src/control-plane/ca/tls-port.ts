// The control plane's TLS port (Istio's 15012): its serving certificate is signed by the mesh CA,
// and it asks for — without requiring — a client certificate, which the CA service reads when a
// proxy renews. grpc-js certificate providers let the serving certificate change in place.
import * as grpc from '@grpc/grpc-js';
import type { CertificateAuthority } from './authority.js';

type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;
type CaListener = grpc.experimental.CaCertificateUpdateListener;

/** A provider of fixed certificates (grpc-js asks providers, it does not take PEM here). */
class StaticProvider implements grpc.experimental.CertificateProvider {
  constructor(
    private readonly identity: grpc.experimental.IdentityCertificateUpdate | null,
    private readonly caCert: grpc.experimental.CaCertificateUpdate | null,
  ) {}
  // Asynchronously: grpc-js adds its own watcher only after it registered with the provider, so
  // a synchronous answer would be lost (server-credentials.js, CertificateProviderServerCredentials).
  addCaCertificateListener(listener: CaListener): void {
    setImmediate(() => listener(this.caCert));
  }
  removeCaCertificateListener(): void {}
  addIdentityCertificateListener(listener: IdentityListener): void {
    setImmediate(() => listener(this.identity));
  }
  removeIdentityCertificateListener(): void {}
}

/** Server credentials for the TLS port: a fresh serving certificate signed by `ca`. */
export async function tlsServerCredentials(
  ca: CertificateAuthority,
): Promise<grpc.ServerCredentials> {
  const serving = await ca.servingCert();
  const identity = new StaticProvider(
    { certificate: Buffer.from(serving.chain), privateKey: Buffer.from(serving.key) },
    null,
  );
  const roots = new StaticProvider(null, { caCertificate: Buffer.from(ca.rootCertPem) });
  // requestCert without rejectUnauthorized: a first request comes with a token and no certificate.
  return grpc.experimental.createCertificateProviderServerCredentials(identity, roots, false);
}
