// envoy.extensions.transport_sockets.tls.v3 CommonTlsContext, DownstreamTlsContext and
// UpstreamTlsContext compiled: certificates (inline tls_certificates, or SDS names), the
// validation context (inline, SDS, or combined: a default one plus an SDS one), alpn_protocols
// and tls_params (protocol versions, cipher suites). SDS secrets are looked up at handshake time.
import type { SecureVersion } from 'node:tls';
import { ConfigError, inField } from '../config-error.js';
import { messageNameOf } from '../../xds/types.js';
import type { CertificateMaterial, ValidationMaterial } from './secret.js';
import { compileTlsCertificate, compileValidationContext } from './secret.js';
import type { SecretStore } from './secret-store.js';
import { isAgentSecretName, isLocalSecretName, readLocalSecret } from './secret-store.js';

type Obj = Record<string, unknown>;

export const DOWNSTREAM_TLS = 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
export const UPSTREAM_TLS = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const RAW_BUFFER = 'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';

type CertSource = { readonly inline: CertificateMaterial } | { readonly sds: string };

export interface TlsContextConfig {
  readonly certificates: readonly CertSource[];
  /** Inline validation (or combined's default); the SDS one, when named, adds its trusted CA. */
  readonly validation: ValidationMaterial | undefined;
  readonly validationSds: string | undefined;
  readonly alpnProtocols: readonly string[];
  readonly minVersion: SecureVersion | undefined;
  readonly maxVersion: SecureVersion | undefined;
  /** OpenSSL cipher list (TLS 1.2 and below; TLS 1.3 suites are not configurable, as in Envoy). */
  readonly ciphers: string | undefined;
  readonly ecdhCurves: string | undefined;
  /** SDS names to subscribe to. */
  readonly sdsNames: readonly string[];
}

export interface ResolvedTls {
  readonly certificates: readonly CertificateMaterial[];
  readonly validation: ValidationMaterial | undefined;
}

const VERSIONS: Readonly<Record<string, SecureVersion | undefined>> = {
  TLS_AUTO: undefined,
  TLSv1_0: 'TLSv1',
  TLSv1_1: 'TLSv1.1',
  TLSv1_2: 'TLSv1.2',
  TLSv1_3: 'TLSv1.3',
};
const ORDER: readonly (SecureVersion | undefined)[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** Node's TLS 1.3 suites, kept whatever cipher_suites says (it only governs TLS 1.2 and below). */
const TLS13_SUITES = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256';

function version(v: unknown, field: string): SecureVersion | undefined {
  if (v === undefined) return undefined;
  const key = typeof v === 'number' ? Object.keys(VERSIONS)[v] : String(v);
  if (key === undefined || !(key in VERSIONS))
    throw new ConfigError(field, `unknown TLS version ${String(v)}`);
  return VERSIONS[key];
}

/** cipher_suites: BoringSSL names, `[a|b]` equal-preference groups flattened (Node has none). */
function ciphers(list: readonly string[]): string | undefined {
  if (list.length === 0) return undefined;
  const names = list.flatMap((c) => c.replace(/^\[|\]$/g, '').split('|'));
  for (const n of names)
    if (!/^[A-Za-z0-9_+-]+$/.test(n))
      throw new ConfigError(
        'tls_params.cipher_suites',
        `invalid cipher suite ${JSON.stringify(n)}`,
      );
  return `${TLS13_SUITES}:${names.join(':')}`;
}

function sdsName(c: Obj, field: string): string {
  const name = c['name'];
  if (typeof name !== 'string' || !name) throw new ConfigError(`${field}.name`, 'required');
  const source = c['sds_config'] as Obj | undefined;
  // Istio's agent-served names are read locally; everything else comes over ADS.
  if (
    !isLocalSecretName(name) &&
    !isAgentSecretName(name) &&
    source &&
    !source['ads'] &&
    !source['api_config_source']
  )
    throw new ConfigError(`${field}.sds_config`, 'only ADS is supported as a secret source');
  return name;
}

export function compileCommonTlsContext(c: Obj | undefined): TlsContextConfig {
  const ctx = c ?? {};
  const certificates: CertSource[] = [];
  const sdsNames: string[] = [];
  ((ctx['tls_certificates'] as Obj[] | undefined) ?? []).forEach((t, i) =>
    certificates.push({
      inline: inField(`tls_certificates[${i}]`, () => compileTlsCertificate(t)),
    }),
  );
  ((ctx['tls_certificate_sds_secret_configs'] as Obj[] | undefined) ?? []).forEach((s, i) => {
    const field = `tls_certificate_sds_secret_configs[${i}]`;
    const name = sdsName(s, field);
    if (isLocalSecretName(name)) {
      const secret = inField(field, () => readLocalSecret(name));
      if (secret.kind !== 'certificate')
        throw new ConfigError(field, `${name} is not a certificate`);
      certificates.push({ inline: secret.cert });
    } else {
      certificates.push({ sds: name });
      if (!isAgentSecretName(name)) sdsNames.push(name);
    }
  });
  let validation: ValidationMaterial | undefined;
  let validationSds: string | undefined;
  const takeSds = (s: Obj, field: string) => {
    const name = sdsName(s, field);
    if (isLocalSecretName(name)) {
      const secret = inField(field, () => readLocalSecret(name));
      if (secret.kind !== 'validation')
        throw new ConfigError(field, `${name} is not a validation context`);
      validation = {
        trustedCa: secret.validation.trustedCa,
        sanMatchers: validation?.sanMatchers ?? [],
      };
    } else {
      validationSds = name;
      if (!isAgentSecretName(name)) sdsNames.push(name);
    }
  };
  if (ctx['validation_context'])
    validation = inField('validation_context', () =>
      compileValidationContext(ctx['validation_context'] as Obj),
    );
  else if (ctx['validation_context_sds_secret_config'])
    takeSds(
      ctx['validation_context_sds_secret_config'] as Obj,
      'validation_context_sds_secret_config',
    );
  else if (ctx['combined_validation_context']) {
    const combined = ctx['combined_validation_context'] as Obj;
    validation = inField('combined_validation_context.default_validation_context', () =>
      compileValidationContext((combined['default_validation_context'] as Obj | undefined) ?? {}),
    );
    const sds = combined['validation_context_sds_secret_config'] as Obj | undefined;
    if (!sds)
      throw new ConfigError(
        'combined_validation_context.validation_context_sds_secret_config',
        'required',
      );
    takeSds(sds, 'combined_validation_context.validation_context_sds_secret_config');
  }
  const params = (ctx['tls_params'] as Obj | undefined) ?? {};
  const minVersion = version(
    params['tls_minimum_protocol_version'],
    'tls_params.tls_minimum_protocol_version',
  );
  const maxVersion = version(
    params['tls_maximum_protocol_version'],
    'tls_params.tls_maximum_protocol_version',
  );
  if (minVersion && maxVersion && ORDER.indexOf(minVersion) > ORDER.indexOf(maxVersion))
    throw new ConfigError('tls_params', 'tls_minimum_protocol_version is above the maximum');
  const curves = (params['ecdh_curves'] as string[] | undefined) ?? [];
  for (const f of [
    'tls_certificate_provider_instance',
    'tls_certificate_certificate_provider',
    'custom_handshaker',
    'key_log',
  ])
    if (ctx[f] !== undefined) throw new ConfigError(f, 'is not supported');
  return Object.freeze({
    certificates,
    validation,
    validationSds,
    alpnProtocols: ((ctx['alpn_protocols'] as string[] | undefined) ?? []).map(String),
    minVersion,
    maxVersion,
    ciphers: inField('', () => ciphers((params['cipher_suites'] as string[] | undefined) ?? [])),
    ecdhCurves: curves.length ? curves.join(':') : undefined,
    sdsNames,
  });
}

/** The material a handshake uses now; throws when an SDS secret has not arrived (yet). */
export function resolveTls(c: TlsContextConfig, store: SecretStore): ResolvedTls {
  const certificates = c.certificates.map((s) => {
    if ('inline' in s) return s.inline;
    const secret = store.get(s.sds);
    if (secret?.kind !== 'certificate') throw new Error(`secret ${s.sds} is not available`);
    return secret.cert;
  });
  let validation = c.validation;
  if (c.validationSds) {
    const secret = store.get(c.validationSds);
    if (secret?.kind !== 'validation')
      throw new Error(`secret ${c.validationSds} is not available`);
    validation = {
      trustedCa: secret.validation.trustedCa,
      sanMatchers: [...(c.validation?.sanMatchers ?? []), ...secret.validation.sanMatchers],
    };
  }
  return { certificates, validation };
}

/** The typed TLS context of a transport_socket; undefined for raw_buffer (plaintext). */
export function transportSocketContext(ts: Obj | undefined, expected: string): Obj | undefined {
  if (!ts) return undefined;
  const typed = (ts['typed_config'] as Obj | undefined) ?? {};
  const type = messageNameOf(String(typed['@type'] ?? ''));
  if (type === RAW_BUFFER || (!type && ts['name'] === 'envoy.transport_sockets.raw_buffer'))
    return undefined;
  if (type !== expected)
    throw new ConfigError(
      'typed_config',
      `transport socket ${String(ts['name'])} (${type || 'no type'}) is not supported (${expected.split('.').pop()})`,
    );
  return typed;
}
