// Cluster.transport_socket_matches (envoy.config.cluster.v3): per endpoint, the first entry whose
// `match` is contained in the endpoint's metadata under `envoy.transport_socket_match` picks the
// transport socket; an endpoint no entry matches uses the cluster's transport_socket. Istio's
// auto mTLS is this: `{tlsMode: istio}` → ISTIO_MUTUAL, `{}` → raw_buffer.
import { ConfigError, inField } from '../config-error.js';
import type { UpstreamTlsConfig } from '../tls/upstream.js';
import { compileUpstreamTransportSocket } from '../tls/upstream.js';
import { WORKLOAD_CERT } from '../tls/secret-store.js';

type Obj = Record<string, unknown>;

/** The metadata namespace an endpoint's transport socket match reads (Envoy's). */
export const TRANSPORT_SOCKET_MATCH = 'envoy.transport_socket_match';

export interface TransportSocketMatch {
  readonly name: string;
  readonly match: Readonly<Obj>;
  /** undefined: plaintext (raw_buffer). */
  readonly tls: UpstreamTlsConfig | undefined;
}

export function compileTransportSocketMatches(v: unknown): readonly TransportSocketMatch[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ConfigError('transport_socket_matches', 'must be a list');
  return Object.freeze(
    (v as Obj[]).map((m, i) =>
      inField(`transport_socket_matches[${i}]`, () => {
        const match = (m['match'] as Obj | undefined) ?? {};
        if (typeof match !== 'object' || Array.isArray(match))
          throw new ConfigError('match', 'must be a struct');
        return Object.freeze({
          name: String(m['name'] ?? ''),
          match,
          tls: compileUpstreamTransportSocket(m['transport_socket'] as Obj | undefined),
        });
      }),
    ),
  );
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** Does this TLS context present the workload certificate (Istio's SDS `default`)? */
export function usesWorkloadCert(tls: UpstreamTlsConfig | undefined): boolean {
  return tls?.common.certificates.some((c) => 'sds' in c && c.sds === WORKLOAD_CERT) ?? false;
}

/**
 * The transport socket of a host with endpoint `metadata` (an envoy.config.core.v3.Metadata):
 * `matches` in order, each `match` key equal in the host's transport-socket-match metadata.
 * A proxy without a workload identity (`hasIdentity` false: no `default` certificate) cannot
 * originate Istio mTLS: a match needing it is passed over (auto mTLS then sends plaintext, which
 * a STRICT server refuses), rather than failing every connection with a missing secret.
 */
export function transportSocketFor(
  matches: readonly TransportSocketMatch[],
  fallback: UpstreamTlsConfig | undefined,
  metadata: Readonly<Obj>,
  hasIdentity = true,
): UpstreamTlsConfig | undefined {
  if (matches.length === 0) return fallback;
  const fm = (metadata['filter_metadata'] as Obj | undefined) ?? {};
  const own = (fm[TRANSPORT_SOCKET_MATCH] as Obj | undefined) ?? {};
  for (const m of matches) {
    if (!hasIdentity && usesWorkloadCert(m.tls)) continue;
    if (Object.entries(m.match).every(([k, v]) => sameValue(own[k], v))) return m.tls;
  }
  return fallback;
}

/** Identifies a transport socket choice (pools are never shared across two). */
export function transportKey(tls: UpstreamTlsConfig | undefined): string {
  return tls ? tls.key : 'raw_buffer';
}
