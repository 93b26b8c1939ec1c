// X.509 helpers for the CA: @peculiar/x509 on Node's WebCrypto, PEM import of keys of any type
// Istio's plugged-in certificates use (EC or RSA, PKCS#8 or SEC1/PKCS#1), SAN and SPIFFE parsing.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as never);

export type CryptoKey = webcrypto.CryptoKey;
/** The algorithm a CA key signs with (ECDSA or RSASSA-PKCS1-v1_5, with its hash). */
export interface SignAlgorithm {
  name: string;
  hash: string;
}

export { x509 };
export const subtle = webcrypto.subtle;

/** EC P-256 with SHA-256: what Istio's CA and agent use by default (ECC_SIGNATURE_ALGORITHM). */
export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** Imports a PEM private key for signing; returns it with the algorithm to sign with. */
export async function importSigningKey(
  pem: string,
): Promise<{ key: CryptoKey; algorithm: SignAlgorithm }> {
  const k = createPrivateKey(pem);
  const der = k.export({ type: 'pkcs8', format: 'der' });
  if (k.asymmetricKeyType === 'ec') {
    const curve = k.asymmetricKeyDetails?.namedCurve;
    const namedCurve =
      curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : undefined;
    if (!namedCurve) throw new Error(`unsupported EC curve ${curve ?? '?'}`);
    const hash = namedCurve === 'P-384' ? 'SHA-384' : 'SHA-256';
    const key = await subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve }, false, [
      'sign',
    ]);
    return { key, algorithm: { name: 'ECDSA', hash } };
  }
  if (k.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const key = await subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
    return { key, algorithm };
  }
  throw new Error(`unsupported CA key type ${k.asymmetricKeyType ?? '?'}`);
}

/** A fresh EC P-256 key pair, exportable (the private key goes to PEM). */
export async function generateEcKeys(): Promise<webcrypto.CryptoKeyPair> {
  return subtle.generateKey(EC_P256, true, ['sign', 'verify']);
}

export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await subtle.exportKey('pkcs8', key));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN PRIVATE KEY-----\n${b64.replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
}

/** The PEM blocks of a bundle, each ending in a newline. */
export function splitPem(bundle: string): string[] {
  return [...bundle.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map(
    (m) => `${m[0]}\n`,
  );
}

/** The subject alternative names of a certificate or CSR, as `{type, value}`. */
export function sansOf(ext: readonly x509.Extension[]): { type: string; value: string }[] {
  const raw = ext.find((e) => e.type === '2.5.29.17');
  if (!raw) return [];
  return new x509.SubjectAlternativeNameExtension(raw.rawData).names
    .toJSON()
    .map((n) => ({ type: n.type, value: n.value }));
}

/** `spiffe://<td>/ns/<ns>/sa/<sa>` (Istio's identity format). */
export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** The parts of an Istio SPIFFE id, or undefined when it is not one. */
export function parseSpiffeId(
  uri: string,
): { trustDomain: string; namespace: string; serviceAccount: string } | undefined {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  return m ? { trustDomain: m[1]!, namespace: m[2]!, serviceAccount: m[3]! } : undefined;
}
