// Opens the control plane's CA at start: the authority, the bootstrap token key, and the trust
// bundle written where the launcher hands it to proxies (Istio's istio-ca-root-cert).
import { writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { ControlPlaneOptions } from '../options.js';
import { CertificateAuthority } from './authority.js';
import { loadOrCreateTokenKey } from './token.js';

/** `<state>/ca`: the self-signed root, plugged-in certs dropped in, the token key. */
export function caDirIn(stateDir: string): string {
  return path.join(stateDir, 'ca');
}

/** The trust bundle file proxies of this control plane are given (Istio's ConfigMap name). */
export const ROOT_CERT_FILE = 'istio-ca-root-cert.pem';

export interface StartedAuthority {
  readonly authority: CertificateAuthority;
  readonly tokenKey: Uint8Array;
  readonly rootCertFile: string;
}

export async function startAuthority(
  opts: ControlPlaneOptions,
  trustDomain: string,
  log: (line: string) => void,
): Promise<StartedAuthority> {
  const dir = caDirIn(opts.stateDir);
  const authority = await CertificateAuthority.open({
    dir,
    trustDomain,
    ...(opts.caCertDir ? { pluggedDir: opts.caCertDir } : {}),
    ...(opts.workloadCertTtlMs ? { defaultTtlMs: opts.workloadCertTtlMs } : {}),
    ...(opts.maxWorkloadCertTtlMs ? { maxTtlMs: opts.maxWorkloadCertTtlMs } : {}),
  });
  const tokenKey = loadOrCreateTokenKey(dir);
  const rootCertFile = path.join(dir, ROOT_CERT_FILE);
  writeFileSync(`${rootCertFile}.tmp`, authority.rootCertPem);
  renameSync(`${rootCertFile}.tmp`, rootCertFile);
  log(`CA: ${authority.source}, trust domain ${trustDomain}`);
  return { authority, tokenKey, rootCertFile };
}
