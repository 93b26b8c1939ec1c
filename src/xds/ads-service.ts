// The gRPC definition of envoy.service.discovery.v3.AggregatedDiscoveryService (state of the
// world), with plain-object request/response types, shared by the ADS server and the xDS client.
//
// Messages keep the proto's snake_case field names. Resources stay packed (`google.protobuf.Any`
// as {type_url, value}) so that the transport never decodes what it only carries; `node.metadata`
// is a Struct, exchanged as plain JSON.
import type * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import type { AnyMessage } from './any.js';
import { jsonFormToProto } from './json-wrappers.js';
import { lookupMessage } from './protos.js';
import { TypeUrl } from './types.js';

/**
 * envoy.config.core.v3.Node as JSON. Decoding keeps every field a client sent (locality,
 * extensions, ...); these are the ones skiff reads.
 */
export interface NodeMessage {
  id?: string;
  cluster?: string;
  metadata?: Record<string, unknown>;
  user_agent_name?: string;
  user_agent_version?: string;
  client_features?: string[];
}

/** google.rpc.Status as carried by a NACK. */
export interface ErrorDetail {
  code: number;
  message: string;
}

export interface DiscoveryRequest {
  /** The last version the client accepted for this type ('' before any). */
  version_info: string;
  /** Guaranteed only on the first request of a stream (xDS protocol, "Basic Protocol Overview"). */
  node?: NodeMessage;
  resource_names: string[];
  type_url: string;
  /** The nonce of the response this request ACKs or NACKs; '' on a type's first request. */
  response_nonce: string;
  /** Present iff the request is a NACK. */
  error_detail?: ErrorDetail;
}

export interface DiscoveryResponse {
  version_info: string;
  resources: AnyMessage[];
  type_url: string;
  nonce: string;
  control_plane?: { identifier: string };
}

/** Status code a NACK carries (google.rpc.Code INVALID_ARGUMENT), as Envoy sends it. */
export const NACK_CODE = 3;

const SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

let requestType: protobuf.Type | undefined;
let responseType: protobuf.Type | undefined;
let nodeType: protobuf.Type | undefined;

// Looked up on first use, so that importing this module does not load the protos.
function types(): { req: protobuf.Type; res: protobuf.Type; node: protobuf.Type } {
  requestType ??= lookupMessage('envoy.service.discovery.v3.DiscoveryRequest');
  responseType ??= lookupMessage('envoy.service.discovery.v3.DiscoveryResponse');
  nodeType ??= lookupMessage('envoy.config.core.v3.Node');
  return { req: requestType, res: responseType, node: nodeType };
}

export function encodeDiscoveryRequest(request: DiscoveryRequest): Buffer {
  const { req } = types();
  const node = request.node
    ? {
        ...request.node,
        metadata: jsonFormToProto('.google.protobuf.Struct', request.node.metadata ?? {}),
      }
    : undefined;
  const message = req.fromObject({
    version_info: request.version_info,
    node,
    resource_names: request.resource_names,
    type_url: request.type_url,
    response_nonce: request.response_nonce,
    error_detail: request.error_detail,
  });
  return Buffer.from(req.encode(message).finish());
}

interface DecodedRequest {
  version_info: string;
  node: protobuf.Message | null;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail: { code: number; message: string } | null;
}

export function decodeDiscoveryRequest(bytes: Buffer): DiscoveryRequest {
  const { req, node } = types();
  const m = req.decode(bytes) as unknown as DecodedRequest;
  const out: DiscoveryRequest = {
    version_info: m.version_info,
    resource_names: [...m.resource_names],
    type_url: m.type_url,
    response_nonce: m.response_nonce,
  };
  if (m.node) {
    // json: true turns the metadata Struct into plain JSON (src/xds/json-wrappers.ts).
    out.node = node.toObject(m.node, { json: true, longs: Number, enums: String }) as NodeMessage;
  }
  if (m.error_detail) {
    out.error_detail = { code: m.error_detail.code, message: m.error_detail.message };
  }
  return out;
}

export function encodeDiscoveryResponse(response: DiscoveryResponse): Buffer {
  // protobufjs encodes plain objects of the right shape directly: no fromObject pass per push.
  return Buffer.from(
    types()
      .res.encode(response as unknown as protobuf.Message)
      .finish(),
  );
}

interface DecodedResponse {
  version_info: string;
  resources: { type_url: string; value: Uint8Array }[];
  type_url: string;
  nonce: string;
  control_plane: { identifier: string } | null;
}

export function decodeDiscoveryResponse(bytes: Buffer): DiscoveryResponse {
  const m = types().res.decode(bytes) as unknown as DecodedResponse;
  const out: DiscoveryResponse = {
    version_info: m.version_info,
    resources: m.resources.map((r) => ({ type_url: r.type_url, value: Buffer.from(r.value) })),
    type_url: m.type_url,
    nonce: m.nonce,
  };
  if (m.control_plane) out.control_plane = { identifier: m.control_plane.identifier };
  return out;
}

/**
 * The service definition, for `grpc.Server.addService` and `grpc.makeGenericClientConstructor`.
 * Only the state-of-the-world method: a client calling DeltaAggregatedResources gets
 * UNIMPLEMENTED from grpc-js, which is what Envoy expects from a SotW-only server.
 */
export const adsServiceDefinition = {
  StreamAggregatedResources: {
    path: `/${SERVICE}/StreamAggregatedResources`,
    requestStream: true,
    responseStream: true,
    requestSerialize: encodeDiscoveryRequest,
    requestDeserialize: decodeDiscoveryRequest,
    responseSerialize: encodeDiscoveryResponse,
    responseDeserialize: decodeDiscoveryResponse,
    originalName: 'streamAggregatedResources',
  },
} satisfies grpc.ServiceDefinition;

/** A client made with grpc.makeGenericClientConstructor(adsServiceDefinition, ...). */
export interface AdsClient extends grpc.Client {
  StreamAggregatedResources(
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
}

/** The name an xDS resource is known by: `cluster_name` for endpoints, `name` for the rest. */
export function resourceNameOf(typeUrl: string, resource: Record<string, unknown>): string {
  const value = resource[typeUrl === TypeUrl.ClusterLoadAssignment ? 'cluster_name' : 'name'];
  return typeof value === 'string' ? value : '';
}
