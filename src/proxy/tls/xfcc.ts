// x-forwarded-client-cert (XFCC), as Envoy's HTTP connection manager handles it
// (forward_client_cert_details, set_current_client_cert_details): SANITIZE (Envoy's default)
// drops it; FORWARD_ONLY keeps it on mTLS connections; APPEND_FORWARD (Istio's inbound sidecars)
// appends this connection's client certificate element on mTLS; SANITIZE_SET replaces it with
// that element; ALWAYS_FORWARD_ONLY keeps it whatever the connection. Without mTLS every mode but
// ALWAYS_FORWARD_ONLY drops it, so a plaintext client can never forge an identity here.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { isVerifiedPeer, uriSans, workloadIdentityUri } from './peer-identity.js';
import { removeRequestHeaders } from '../http/request-headers.js';

type Obj = Record<string, unknown>;

export type XfccMode =
  'SANITIZE' | 'FORWARD_ONLY' | 'APPEND_FORWARD' | 'SANITIZE_SET' | 'ALWAYS_FORWARD_ONLY';

export interface XfccConfig {
  readonly mode: XfccMode;
  readonly subject: boolean;
  readonly cert: boolean;
  readonly chain: boolean;
  readonly dns: boolean;
  readonly uri: boolean;
}

export const XFCC = 'x-forwarded-client-cert';
const MODES: readonly XfccMode[] = [
  'SANITIZE',
  'FORWARD_ONLY',
  'APPEND_FORWARD',
  'SANITIZE_SET',
  'ALWAYS_FORWARD_ONLY',
];

export function compileXfcc(hcm: Obj): XfccConfig {
  const raw = hcm['forward_client_cert_details'];
  const mode = (typeof raw === 'number' ? MODES[raw] : (raw as XfccMode | undefined)) ?? 'SANITIZE';
  const set = (hcm['set_current_client_cert_details'] as Obj | undefined) ?? {};
  const flag = (k: string) => set[k] === true || (set[k] as Obj | undefined)?.['value'] === true;
  return Object.freeze({
    mode: MODES.includes(mode) ? mode : 'SANITIZE',
    subject: flag('subject'),
    cert: flag('cert'),
    chain: flag('chain'),
    dns: flag('dns'),
    uri: flag('uri'),
  });
}

/** One XFCC element for the connection's verified client certificate (Envoy's order). */
function element(c: XfccConfig, socket: TLSSocket): string {
  const peer = socket.getPeerCertificate(false);
  const parts: string[] = [];
  const by = workloadIdentityUri();
  if (by) parts.push(`By=${by}`);
  if (peer.raw) parts.push(`Hash=${createHash('sha256').update(peer.raw).digest('hex')}`);
  if (c.cert && peer.raw)
    parts.push(
      `Cert="${encodeURIComponent(`-----BEGIN CERTIFICATE-----\n${peer.raw.toString('base64')}\n-----END CERTIFICATE-----\n`)}"`,
    );
  if (c.subject) {
    const subject = Object.entries(peer.subject ?? {})
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(',');
    parts.push(`Subject="${subject}"`);
  }
  if (c.uri) for (const u of uriSans(peer.subjectaltname)) parts.push(`URI=${u}`);
  if (c.dns)
    for (const m of (peer.subjectaltname ?? '').matchAll(/(?:^|,\s*)DNS:([^,]*)/g))
      parts.push(`DNS=${m[1] ?? ''}`);
  return parts.join(';');
}

/**
 * The XFCC header to send upstream for a request on `socket` carrying `existing`: undefined to
 * send none.
 */
export function xfccHeader(
  c: XfccConfig,
  socket: Socket | null | undefined,
  existing: string | undefined,
): string | undefined {
  if (c.mode === 'ALWAYS_FORWARD_ONLY') return existing;
  const mtls = isVerifiedPeer(socket);
  if (!mtls || c.mode === 'SANITIZE') return undefined;
  if (c.mode === 'FORWARD_ONLY') return existing;
  const mine = element(c, socket as TLSSocket);
  if (c.mode === 'SANITIZE_SET') return mine;
  return existing ? `${existing},${mine}` : mine;
}

/** Removes XFCC from the request: from headers, and from rawHeaders (what the router copies). */
export function stripXfcc(req: IncomingMessage): void {
  removeRequestHeaders(req, XFCC);
}
