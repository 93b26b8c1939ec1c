// File-mounted workload certificates, as Istio's agent reads them from /etc/certs: a directory
// with cert-chain.pem, key.pem and root-cert.pem becomes the `default` and `ROOTCA` secrets.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { inField } from '../config-error.js';
import { compileTlsCertificate, compileValidationContext } from '../tls/secret.js';
import type { SecretStore } from '../tls/secret-store.js';
import { ROOT_CA, WORKLOAD_CERT } from '../tls/secret-store.js';

export interface IdentityPem {
  /** The leaf first, then intermediates (not the root). */
  readonly certChain: string;
  readonly privateKey: string;
  /** The trust bundle peers' chains are checked against. */
  readonly rootCert: string;
}

/** Puts a workload identity in the store as `default` and `ROOTCA`; throws on bad PEM. */
export function installIdentity(store: SecretStore, pem: IdentityPem): void {
  const cert = inField(WORKLOAD_CERT, () =>
    compileTlsCertificate({
      certificate_chain: { inline_string: pem.certChain },
      private_key: { inline_string: pem.privateKey },
    }),
  );
  const validation = inField(ROOT_CA, () =>
    compileValidationContext({ trusted_ca: { inline_string: pem.rootCert } }),
  );
  store.setAgentSecret({ kind: 'certificate', name: WORKLOAD_CERT, cert });
  store.setAgentSecret({ kind: 'validation', name: ROOT_CA, validation });
  installed.set(store, pem);
}

const installed = new WeakMap<SecretStore, IdentityPem>();

/** The identity last installed in `store` (what admin /certs shows). */
export function installedIdentity(store: SecretStore): IdentityPem | undefined {
  return installed.get(store);
}

/** Reads Istio's file-mounted layout from `dir`. */
export function readIdentityDir(dir: string): IdentityPem {
  const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
  return {
    certChain: read('cert-chain.pem'),
    privateKey: read('key.pem'),
    rootCert: read('root-cert.pem'),
  };
}
