// The CA's `IstioCertificateService/CreateCertificate` handler (messages in src/pki/ca-api.ts):
// it signs a CSR only for the identity the caller proves — a bootstrap token
// (`authorization: Bearer`) or, when it renews, its current certificate presented on the TLS port.
import * as grpc from '@grpc/grpc-js';
import type { IstioCertificateRequest, IstioCertificateResponse } from '../../pki/ca-api.js';
import { caServiceDefinition } from '../../pki/ca-api.js';
import type { CertificateAuthority } from './authority.js';
import { CaError } from './authority.js';
import { TokenError, verifyToken } from './token.js';
import { parseSpiffeId, sansOf, spiffeId, x509 } from '../../pki/x509.js';

export interface CaServiceOptions {
  readonly ca: CertificateAuthority;
  readonly tokenKey: Uint8Array;
  readonly log: (line: string) => void;
}

type Unary = grpc.ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>;

class Refused extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/** Adds the CA service to `server` (both the plaintext and the TLS port serve it). */
export function registerCaService(server: grpc.Server, opts: CaServiceOptions): void {
  server.addService(caServiceDefinition, {
    CreateCertificate: (call: Unary, callback: grpc.sendUnaryData<IstioCertificateResponse>) => {
      void createCertificate(call, opts).then(
        (res) => callback(null, res),
        (err: Error) => {
          const code = err instanceof Refused ? err.code : grpc.status.INTERNAL;
          opts.log(`CA: refused a CSR from ${call.getPeer()}: ${err.message}`);
          callback({ code, details: err.message });
        },
      );
    },
  });
}

async function createCertificate(
  call: Unary,
  { ca, tokenKey, log }: CaServiceOptions,
): Promise<IstioCertificateResponse> {
  const identity = await provenIdentity(call, ca, tokenKey);
  const seconds = Number(call.request.validity_duration ?? 0);
  let signed;
  try {
    signed = await ca.signWorkload(call.request.csr ?? '', identity.id, seconds * 1000);
  } catch (err) {
    if (err instanceof CaError) {
      const code =
        err.code === 'ERR_CA_IDENTITY'
          ? grpc.status.PERMISSION_DENIED
          : grpc.status.INVALID_ARGUMENT;
      throw new Refused(code, err.message);
    }
    throw err;
  }
  log(`CA: signed ${identity.id} (proved by ${identity.by}) for ${call.getPeer()}`);
  return { cert_chain: [...signed.chain] };
}

/** The SPIFFE id the caller proves: its current certificate first (a renewal), else a token. */
async function provenIdentity(
  call: Unary,
  ca: CertificateAuthority,
  tokenKey: Uint8Array,
): Promise<{ id: string; by: string }> {
  const fromCert = await certificateIdentity(call, ca);
  if (fromCert) return { id: fromCert, by: 'its certificate' };
  const auth = call.metadata.get('authorization')[0];
  const bearer = typeof auth === 'string' ? /^Bearer\s+(\S+)$/i.exec(auth)?.[1] : undefined;
  if (!bearer) {
    throw new Refused(
      grpc.status.UNAUTHENTICATED,
      'no bootstrap token (authorization: Bearer) and no valid client certificate of this mesh',
    );
  }
  try {
    const t = await verifyToken(tokenKey, bearer);
    return { id: spiffeId(ca.trustDomain, t.namespace, t.serviceAccount), by: 'a bootstrap token' };
  } catch (err) {
    if (err instanceof TokenError) throw new Refused(grpc.status.UNAUTHENTICATED, err.message);
    throw err;
  }
}

/**
 * The SPIFFE id of the client certificate on this call, when it is one this CA signed and still
 * valid. The TLS port asks for a certificate without requiring one (a first request has none),
 * so the chain is checked here, not by the handshake.
 */
async function certificateIdentity(
  call: Unary,
  ca: CertificateAuthority,
): Promise<string | undefined> {
  const peer = call.getAuthContext?.()?.sslPeerCertificate;
  if (!peer?.raw) return undefined;
  const cert = new x509.X509Certificate(peer.raw);
  if (!(await ca.issued(cert))) return undefined;
  const uris = sansOf(cert.extensions).filter((s) => s.type === 'url');
  const id = uris.length === 1 ? parseSpiffeId(uris[0]!.value) : undefined;
  if (!id || id.trustDomain !== ca.trustDomain) return undefined;
  return uris[0]!.value;
}
