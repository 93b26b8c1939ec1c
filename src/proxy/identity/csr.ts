// A fresh EC P-256 key and a PKCS#10 CSR (RFC 2986) whose only SAN is the workload's SPIFFE URI
// (what Istio's agent sends; the subject stays empty, so the SAN is critical, RFC 5280
// §4.2.1.6). Written with node:crypto and a few DER encodings: no ASN.1 library in the sidecar.
import { generateKeyPair, sign } from 'node:crypto';
import { promisify } from 'node:util';
import {
  bitString,
  boolean,
  octetString,
  oid,
  sequence,
  set,
  smallInteger,
  tlv,
} from '../../pki/der.js';

const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
/** GeneralName uniformResourceIdentifier: [6] IMPLICIT IA5String. */
const TAG_SAN_URI = 0x86;
/** CertificationRequestInfo's attributes: [0] IMPLICIT SET OF Attribute. */
const TAG_ATTRIBUTES = 0xa0;

const generateEcKeyPair = promisify(generateKeyPair);

export async function buildCsr(spiffeUri: string): Promise<{ privateKey: string; csr: string }> {
  const { publicKey, privateKey } = await generateEcKeyPair('ec', { namedCurve: 'P-256' });
  const san = sequence(
    oid(OID_SUBJECT_ALT_NAME),
    boolean(true),
    octetString(sequence(tlv(TAG_SAN_URI, Buffer.from(spiffeUri, 'ascii')))),
  );
  const info = sequence(
    smallInteger(0), // version v1
    sequence(), // an empty subject
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(TAG_ATTRIBUTES, sequence(oid(OID_EXTENSION_REQUEST), set(sequence(san)))),
  );
  const signature = sign('sha256', info, { key: privateKey, dsaEncoding: 'der' });
  const der = sequence(info, sequence(oid(OID_ECDSA_WITH_SHA256)), bitString(signature));
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    csr: pem('CERTIFICATE REQUEST', der),
  };
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
