// The Istio CA API shared by the CA and the proxy's agent:
// `istio.v1.auth.IstioCertificateService/CreateCertificate` (Istio's security/proto/pb ca.proto),
// its messages declared here from the proto's field numbers, and the name the control plane's
// serving certificate carries.
import type * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

/** The DNS name proxies check on the control plane's TLS port (istiod's service name). */
export const CONTROL_PLANE_DNS = 'istiod.istio-system.svc';

/**
 * IstioCertificateRequest { string csr = 1; int64 validity_duration = 3; Struct metadata = 4; }
 * IstioCertificateResponse { repeated string cert_chain = 1; } — cert_chain is leaf … root.
 */
const DESCRIPTOR = {
  nested: {
    istio: {
      nested: {
        v1: {
          nested: {
            auth: {
              nested: {
                IstioCertificateRequest: {
                  fields: {
                    csr: { type: 'string', id: 1 },
                    validity_duration: { type: 'int64', id: 3 },
                    metadata: { type: 'google.protobuf.Struct', id: 4 },
                  },
                },
                IstioCertificateResponse: {
                  fields: { cert_chain: { rule: 'repeated', type: 'string', id: 1 } },
                },
              },
            },
          },
        },
      },
    },
  },
};

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

let types: { req: protobuf.Type; res: protobuf.Type } | undefined;
function messageTypes(): { req: protobuf.Type; res: protobuf.Type } {
  if (!types) {
    // Struct first (protobufjs bundles Google's well-known types), then the CA's messages.
    const root = new protobuf.Root();
    root.addJSON(protobuf.common.get('google/protobuf/struct.proto')?.nested ?? {});
    root.addJSON(DESCRIPTOR.nested);
    root.resolveAll();
    types = {
      req: root.lookupType('istio.v1.auth.IstioCertificateRequest'),
      res: root.lookupType('istio.v1.auth.IstioCertificateResponse'),
    };
  }
  return types;
}

const OBJECT_OPTS: protobuf.IConversionOptions = { longs: Number, defaults: true };

/** The grpc-js definition (server and client share it). */
export const caServiceDefinition: grpc.ServiceDefinition = {
  CreateCertificate: {
    path: CA_SERVICE_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (m: IstioCertificateRequest) =>
      Buffer.from(messageTypes().req.encode(messageTypes().req.fromObject(m)).finish()),
    requestDeserialize: (b: Buffer) =>
      messageTypes().req.toObject(messageTypes().req.decode(b), OBJECT_OPTS),
    responseSerialize: (m: IstioCertificateResponse) =>
      Buffer.from(messageTypes().res.encode(messageTypes().res.fromObject(m)).finish()),
    responseDeserialize: (b: Buffer) =>
      messageTypes().res.toObject(messageTypes().res.decode(b), OBJECT_OPTS),
  },
};
