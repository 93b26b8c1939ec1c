// The downstream peer's workload identity: the URI SAN of a client certificate that the filter
// chain's TLS context verified, without `spiffe://` (Envoy's `source.principal` for Istio's
// authorization: `cluster.local/ns/<ns>/sa/<sa>`). Cached per socket.
import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Host } from '../upstream/host.js';
import { WORKLOAD_CERT, proxySecrets } from './secret-store.js';
import { parseSubjectAltNames } from './san.js';

const SPIFFE = 'spiffe://';

/** Sockets whose client certificate chain was verified against a trusted CA (downstream.ts). */
const verified = new WeakSet<object>();
/** peerPrincipal's answer per socket ('' = none). */
const cache = new WeakMap<object, string>();

/** Called by the TLS termination once the peer's chain (and SAN matchers) passed. */
export function markPeerVerified(socket: TLSSocket): void {
  verified.add(socket);
  cache.delete(socket);
  // What tls.Server sets on a verified client (onServerSocketSecure); read through the
  // HTTP/2 session's socket proxy too, where the WeakSet cannot see the socket itself.
  socket.authorized = true;
}

/** Did the TLS termination verify this socket's client certificate (mTLS)? */
export function isVerifiedPeer(socket: Socket | null | undefined): boolean {
  if (!socket) return false;
  return verified.has(socket) || (socket as Partial<TLSSocket>).authorized === true;
}

/** Every URI SAN of a certificate's `subjectaltname` (Node's `URI:a, DNS:b` text). */
export function uriSans(subjectAltName: string | undefined): string[] {
  return parseSubjectAltNames(subjectAltName)
    .filter((s) => s.type === 'URI')
    .map((s) => s.value);
}

/** The SPIFFE principal in a certificate's SAN text: the first URI SAN, `spiffe://` removed. */
export function principalOfSan(subjectAltName: string | undefined): string | undefined {
  const uri = uriSans(subjectAltName)[0];
  if (uri === undefined) return undefined;
  return uri.startsWith(SPIFFE) ? uri.slice(SPIFFE.length) : uri;
}

/**
 * The verified peer's principal on a downstream socket (`cluster.local/ns/x/sa/y`), or undefined
 * for plaintext, an unverified or absent client certificate, or a certificate without a URI SAN
 * (Envoy's Connection::ssl()->uriSanPeerCertificate()[0], only set for a validated peer).
 */
export function peerPrincipal(socket: Socket | null | undefined): string | undefined {
  if (!socket) return undefined;
  const hit = cache.get(socket);
  if (hit !== undefined) return hit || undefined;
  let principal: string | undefined;
  const t = socket as Partial<TLSSocket>;
  if (typeof t.getPeerCertificate === 'function' && (verified.has(socket) || t.authorized)) {
    const peer = t.getPeerCertificate();
    principal = peer && Object.keys(peer).length ? principalOfSan(peer.subjectaltname) : undefined;
  }
  cache.set(socket, principal ?? '');
  return principal;
}

/** The proxy's own workload identity URI (its `default` certificate), cached per secret. */
let own: { generation: number; uri: string } | undefined;
export function workloadIdentityUri(): string {
  if (own?.generation === proxySecrets.generation) return own.uri;
  const secret = proxySecrets.get(WORKLOAD_CERT);
  let uri = '';
  if (secret?.kind === 'certificate') {
    try {
      uri = uriSans(new X509Certificate(secret.cert.certChain).subjectAltName)[0] ?? '';
    } catch {
      uri = '';
    }
  }
  own = { generation: proxySecrets.generation, uri };
  return uri;
}

/**
 * The mTLS facts of a request for Istio's metrics. Inbound: the downstream's verified peer
 * (source_principal) and our certificate (destination_principal). Outbound: our certificate
 * when the upstream host's transport presents it (Istio mTLS), and the destination's identity
 * when its SAN check names exactly one (the verified peer must have presented it).
 */
export function connectionSecurity(
  inbound: boolean,
  downstream: Socket | null | undefined,
  upstream: Host | undefined,
): { mtls: boolean; sourcePrincipal: string; destinationPrincipal: string } | undefined {
  if (inbound) {
    const peer = peerPrincipal(downstream);
    if (peer === undefined) return undefined;
    return {
      mtls: true,
      sourcePrincipal: `${SPIFFE}${peer}`,
      destinationPrincipal: workloadIdentityUri(),
    };
  }
  const tls = upstream?.tls;
  if (!tls?.common.certificates.some((c) => 'sds' in c && c.sds === WORKLOAD_CERT))
    return undefined;
  const sans = tls.common.validation?.sanMatchers ?? [];
  const exact =
    sans.length === 1 && sans[0]?.text.startsWith('exact ') ? sans[0].text.slice(6) : '';
  return { mtls: true, sourcePrincipal: workloadIdentityUri(), destinationPrincipal: exact };
}
