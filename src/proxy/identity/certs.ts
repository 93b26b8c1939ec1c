// The admin /certs view (Envoy's admin API, envoy.admin.v3.Certificates): the workload identity
// in use, its chain and trust bundle, each with serial, SANs and days until expiration.
import { X509Certificate } from 'node:crypto';
import type { IdentityPem } from './files.js';

export interface SubjectAltName {
  uri?: string;
  dns?: string;
  ip_address?: string;
}

export interface CertificateDetails {
  path: string;
  serial_number: string;
  subject_alt_names: SubjectAltName[];
  days_until_expiration: string;
  valid_from: string;
  expiration_time: string;
}

export interface CertsReport {
  certificates: { ca_cert: CertificateDetails[]; cert_chain: CertificateDetails[] }[];
}

function pemBlocks(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** `URI:spiffe://…, DNS:a, IP Address:1.2.3.4` (Node's subjectaltname) as Envoy lists SANs. */
function sans(text: string | undefined): SubjectAltName[] {
  if (!text) return [];
  return text.split(/,\s*/).flatMap((part): SubjectAltName[] => {
    const i = part.indexOf(':');
    const kind = part.slice(0, i);
    const value = part.slice(i + 1);
    if (kind === 'URI') return [{ uri: value }];
    if (kind === 'DNS') return [{ dns: value }];
    if (kind === 'IP Address') return [{ ip_address: value }];
    return [];
  });
}

export function certificateDetails(
  pem: string,
  where: string,
  now = Date.now(),
): CertificateDetails {
  const cert = new X509Certificate(pem);
  const to = new Date(cert.validTo);
  return {
    path: where,
    serial_number: cert.serialNumber.toLowerCase(),
    subject_alt_names: sans(cert.subjectAltName),
    days_until_expiration: String(Math.max(0, Math.floor((to.getTime() - now) / 86_400_000))),
    valid_from: new Date(cert.validFrom).toISOString(),
    expiration_time: to.toISOString(),
  };
}

/** The /certs body for the identity in use (none: an empty list, as Envoy's). */
export function certsReport(identity: IdentityPem | undefined, now = Date.now()): CertsReport {
  if (!identity) return { certificates: [] };
  return {
    certificates: [
      {
        ca_cert: pemBlocks(identity.rootCert).map((p) => certificateDetails(p, 'ROOTCA', now)),
        cert_chain: pemBlocks(identity.certChain).map((p) => certificateDetails(p, 'default', now)),
      },
    ],
  };
}

/**
 * istioctl's `proxy-config secret` table from a /certs body: one row per certificate in use
 * (RESOURCE NAME is the SDS name, `default` for the chain's leaf and `ROOTCA` for the roots).
 */
export function secretRows(report: CertsReport, now = Date.now()): string[][] {
  const rows: string[][] = [];
  for (const c of report.certificates) {
    const leaf = c.cert_chain[0];
    for (const d of [...(leaf ? [leaf] : []), ...c.ca_cert]) {
      const valid = Date.parse(d.valid_from) <= now && now < Date.parse(d.expiration_time);
      rows.push([
        d.path,
        d.path === 'ROOTCA' ? 'CA' : 'Cert Chain',
        'ACTIVE',
        String(valid),
        d.serial_number,
        d.expiration_time,
        d.valid_from,
        d.subject_alt_names.map((s) => s.uri ?? s.dns ?? s.ip_address ?? '').join(','),
      ]);
    }
  }
  return rows;
}

export const SECRET_HEADERS = [
  'RESOURCE NAME',
  'TYPE',
  'STATUS',
  'VALID CERT',
  'SERIAL NUMBER',
  'NOT AFTER',
  'NOT BEFORE',
  'SAN',
] as const;
