// The Istio CA API shared by the CA and the proxy's agent:
// `istio.v1.auth.IstioCertificateService/CreateCertificate` (Istio's security/proto/pb ca.proto),
// its two messages, and the name the control plane's serving certificate carries.
import type * as grpc from '@grpc/grpc-js';
import { decodeMessage } from '../xds/wire/decode.js';
import { encodeMessage } from '../xds/wire/encode.js';
import { asBuffer, Reader, WireType } from '../xds/wire/reader.js';
import { requireMessage } from '../xds/wire/schema.js';
import { Writer } from '../xds/wire/writer.js';

/** The DNS name proxies check on the control plane's TLS port (istiod's service name). */
export const CONTROL_PLANE_DNS = 'istiod.istio-system.svc';

export const CA_SERVICE_PATH = '/istio.v1.auth.IstioCertificateService/CreateCertificate';

export interface IstioCertificateRequest {
  csr: string;
  /** Seconds; 0 asks for the CA's default. */
  validity_duration?: number;
  metadata?: Record<string, unknown>;
}
export interface IstioCertificateResponse {
  cert_chain: string[];
}

// IstioCertificateRequest { string csr = 1; int64 validity_duration = 3; Struct metadata = 4; }
// IstioCertificateResponse { repeated string cert_chain = 1; } — cert_chain is leaf … root.
// Written and read on the wire directly (src/xds/wire): a proxy's agent needs no protobufjs.
const LEN = WireType.LengthDelimited;
const STRUCT = 'google.protobuf.Struct';

export function encodeCertificateRequest(m: IstioCertificateRequest): Buffer {
  const w = new Writer();
  if (m.csr) w.tag(1, LEN).string(m.csr);
  if (m.validity_duration) w.tag(3, WireType.Varint).int64(m.validity_duration);
  if (m.metadata) w.tag(4, LEN).bytes(encodeMessage(requireMessage(STRUCT), m.metadata));
  return w.finish();
}

export function decodeCertificateRequest(bytes: Buffer): IstioCertificateRequest {
  const out: IstioCertificateRequest = { csr: '', validity_duration: 0 };
  const r = new Reader(asBuffer(bytes));
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | LEN)) out.csr = r.string();
    else if (tag === ((3 << 3) | WireType.Varint)) {
      r.varint64();
      out.validity_duration = r.long(false);
    } else if (tag === ((4 << 3) | LEN)) {
      out.metadata = decodeMessage(requireMessage(STRUCT), r.bytes());
    } else r.skip(tag & 7);
  }
  return out;
}

export function encodeCertificateResponse(m: IstioCertificateResponse): Buffer {
  const w = new Writer();
  for (const cert of m.cert_chain) w.tag(1, LEN).string(cert);
  return w.finish();
}

export function decodeCertificateResponse(bytes: Buffer): IstioCertificateResponse {
  const out: IstioCertificateResponse = { cert_chain: [] };
  const r = new Reader(asBuffer(bytes));
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | LEN)) out.cert_chain.push(r.string());
    else r.skip(tag & 7);
  }
  return out;
}

/** The grpc-js definition (server and client share it). */
export const caServiceDefinition: grpc.ServiceDefinition = {
  CreateCertificate: {
    path: CA_SERVICE_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeCertificateRequest,
    requestDeserialize: decodeCertificateRequest,
    responseSerialize: encodeCertificateResponse,
    responseDeserialize: decodeCertificateResponse,
  },
};
