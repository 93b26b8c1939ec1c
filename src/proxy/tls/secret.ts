// envoy.extensions.transport_sockets.tls.v3.Secret (SDS) and the TLS material it shares with
// inline contexts: a TlsCertificate (chain + key) or a CertificateValidationContext (trusted CA,
// subject alt name matchers), compiled into checked PEM. A bad PEM is a ConfigError naming the
// field, so the proxy NACKs the resource and keeps what it had.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, inField } from '../config-error.js';
import { parseSubjectAltNames } from './san.js';

type Obj = Record<string, unknown>;

export interface CertificateMaterial {
  readonly certChain: string;
  readonly privateKey: string;
}

/** StringMatcher on one subject alt name (exact, prefix, suffix, contains, safe_regex). */
export interface SanMatcher {
  /** DNS, URI, IP or '' (any type: match_subject_alt_names). */
  readonly type: '' | 'DNS' | 'URI' | 'IP' | 'EMAIL';
  readonly matches: (value: string) => boolean;
  readonly text: string;
}

export interface ValidationMaterial {
  /** PEM bundle; undefined: no chain verification (Envoy's behaviour without trusted_ca). */
  readonly trustedCa: string | undefined;
  readonly sanMatchers: readonly SanMatcher[];
}

export type CompiledSecret =
  | { readonly kind: 'certificate'; readonly name: string; readonly cert: CertificateMaterial }
  | { readonly kind: 'validation'; readonly name: string; readonly validation: ValidationMaterial };

/** core.v3.DataSource: inline_bytes (base64 in JSON form), inline_string or filename. */
export function dataSourceText(d: unknown, field: string): string | undefined {
  if (d === undefined || d === null) return undefined;
  const o = d as Obj;
  if (typeof o['inline_string'] === 'string') return o['inline_string'];
  if (typeof o['inline_bytes'] === 'string')
    return Buffer.from(o['inline_bytes'], 'base64').toString('utf8');
  if (typeof o['filename'] === 'string') {
    try {
      return readFileSync(o['filename'], 'utf8');
    } catch (e) {
      throw new ConfigError(`${field}.filename`, (e as Error).message);
    }
  }
  if (typeof o['environment_variable'] === 'string') {
    const v = process.env[o['environment_variable']];
    if (v === undefined)
      throw new ConfigError(
        `${field}.environment_variable`,
        `${o['environment_variable']} is not set`,
      );
    return v;
  }
  throw new ConfigError(field, 'a data source needs inline_bytes, inline_string or filename');
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Checks that `pem` holds at least one certificate, each parseable. */
export function checkCertificates(pem: string, field: string): void {
  const blocks = pem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new ConfigError(field, 'no PEM certificate found');
  blocks.forEach((b, i) => {
    try {
      new X509Certificate(b);
    } catch (e) {
      throw new ConfigError(field, `certificate ${i} is not valid PEM: ${(e as Error).message}`);
    }
  });
}

export function compileTlsCertificate(c: Obj): CertificateMaterial {
  const certChain = dataSourceText(c['certificate_chain'], 'certificate_chain');
  const privateKey = dataSourceText(c['private_key'], 'private_key');
  if (!certChain) throw new ConfigError('certificate_chain', 'required');
  if (!privateKey) throw new ConfigError('private_key', 'required');
  checkCertificates(certChain, 'certificate_chain');
  let key;
  try {
    key = createPrivateKey(privateKey);
  } catch (e) {
    throw new ConfigError('private_key', `not a valid PEM private key: ${(e as Error).message}`);
  }
  const leaf = new X509Certificate(certChain.match(PEM_CERT)?.[0] ?? '');
  if (!leaf.checkPrivateKey(key))
    throw new ConfigError('private_key', 'does not match the certificate_chain’s leaf certificate');
  for (const f of ['password', 'private_key_provider', 'pkcs12', 'ocsp_staple'])
    if (c[f] !== undefined) throw new ConfigError(f, 'is not supported');
  return { certChain, privateKey };
}

function stringMatcher(m: Obj): { matches: (v: string) => boolean; text: string } {
  const ci = m['ignore_case'] === true;
  const norm = (s: string) => (ci ? s.toLowerCase() : s);
  if (typeof m['exact'] === 'string') {
    const x = norm(m['exact']);
    return { matches: (v) => norm(v) === x, text: `exact ${m['exact']}` };
  }
  if (typeof m['prefix'] === 'string') {
    const x = norm(m['prefix']);
    return { matches: (v) => norm(v).startsWith(x), text: `prefix ${m['prefix']}` };
  }
  if (typeof m['suffix'] === 'string') {
    const x = norm(m['suffix']);
    return { matches: (v) => norm(v).endsWith(x), text: `suffix ${m['suffix']}` };
  }
  if (typeof m['contains'] === 'string') {
    const x = norm(m['contains']);
    return { matches: (v) => norm(v).includes(x), text: `contains ${m['contains']}` };
  }
  const re = (m['safe_regex'] as Obj | undefined)?.['regex'];
  if (typeof re === 'string') {
    let rx: RegExp;
    try {
      rx = new RegExp(`^(?:${re})$`, ci ? 'i' : '');
    } catch (e) {
      throw new ConfigError('safe_regex.regex', (e as Error).message);
    }
    return { matches: (v) => rx.test(v), text: `regex ${re}` };
  }
  throw new ConfigError('', 'a string matcher needs exact, prefix, suffix, contains or safe_regex');
}

const SAN_TYPES: Readonly<Record<string, SanMatcher['type']>> = {
  DNS: 'DNS',
  URI: 'URI',
  IP_ADDRESS: 'IP',
  EMAIL: 'EMAIL',
};

export function compileValidationContext(v: Obj): ValidationMaterial {
  const trustedCa = dataSourceText(v['trusted_ca'], 'trusted_ca');
  if (trustedCa !== undefined) checkCertificates(trustedCa, 'trusted_ca');
  const sanMatchers: SanMatcher[] = [];
  ((v['match_subject_alt_names'] as Obj[] | undefined) ?? []).forEach((m, i) =>
    inField(`match_subject_alt_names[${i}]`, () =>
      sanMatchers.push({ type: '', ...stringMatcher(m) }),
    ),
  );
  ((v['match_typed_subject_alt_names'] as Obj[] | undefined) ?? []).forEach((m, i) =>
    inField(`match_typed_subject_alt_names[${i}]`, () => {
      const type = SAN_TYPES[String(m['san_type'] ?? '')];
      if (!type) throw new ConfigError('san_type', `${String(m['san_type'])} is not supported`);
      sanMatchers.push({
        type,
        ...inField('matcher', () => stringMatcher((m['matcher'] as Obj | undefined) ?? {})),
      });
    }),
  );
  for (const f of [
    'verify_certificate_spki',
    'verify_certificate_hash',
    'crl',
    'custom_validator_config',
  ])
    if ((v[f] as unknown[] | undefined)?.length || (v[f] && !Array.isArray(v[f])))
      throw new ConfigError(f, 'is not supported');
  return { trustedCa, sanMatchers };
}

/** Does the peer certificate have a subject alt name the matchers accept (any when none)? */
export function sanAccepted(
  matchers: readonly SanMatcher[],
  subjectAltName: string | undefined,
): boolean {
  if (matchers.length === 0) return true;
  const sans = parseSubjectAltNames(subjectAltName);
  return matchers.some((m) =>
    sans.some((s) => (m.type === '' || m.type === s.type) && m.matches(s.value)),
  );
}

/** An SDS Secret resource. */
export function compileSecret(r: Obj): CompiledSecret {
  const name = r['name'];
  if (typeof name !== 'string' || !name) throw new ConfigError('name', 'a secret needs a name');
  return inField(`Secret ${name}`, () => {
    if (r['tls_certificate'])
      return {
        kind: 'certificate',
        name,
        cert: inField('tls_certificate', () => compileTlsCertificate(r['tls_certificate'] as Obj)),
      };
    if (r['validation_context'])
      return {
        kind: 'validation',
        name,
        validation: inField('validation_context', () =>
          compileValidationContext(r['validation_context'] as Obj),
        ),
      };
    throw new ConfigError('', 'only tls_certificate and validation_context secrets are supported');
  });
}
