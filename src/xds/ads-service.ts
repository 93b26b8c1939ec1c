// The gRPC definition of envoy.service.discovery.v3.AggregatedDiscoveryService (state of the
// world), with plain-object request/response types, shared by the ADS server and the xDS client.
//
// Messages keep the proto's snake_case field names. Resources stay packed (`google.protobuf.Any`
// as {type_url, value}) so that the transport never decodes what it only carries; `node.metadata`
// is a Struct, exchanged as plain JSON. Read and written on the wire directly (src/xds/wire), so
// that neither side needs protobufjs for the stream itself.
import type * as grpc from '@grpc/grpc-js';
import type { AnyMessage } from './any.js';
import { TypeUrl } from './types.js';
import { decodeMessage } from './wire/decode.js';
import { encodeMessage } from './wire/encode.js';
import { asBuffer, Reader, WireType } from './wire/reader.js';
import type { MessageSchema } from './wire/schema.js';
import { requireMessage } from './wire/schema.js';
import { Writer } from './wire/writer.js';

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

// Field numbers (envoy/service/discovery/v3/discovery.proto, google/rpc/status.proto,
// envoy/config/core/v3/base.proto ControlPlane).
const REQ_VERSION = 1;
const REQ_NODE = 2;
const REQ_RESOURCE_NAMES = 3;
const REQ_TYPE_URL = 4;
const REQ_NONCE = 5;
const REQ_ERROR = 6;
const RES_VERSION = 1;
const RES_RESOURCES = 2;
const RES_TYPE_URL = 4;
const RES_NONCE = 5;
const RES_CONTROL_PLANE = 6;
const LEN = WireType.LengthDelimited;

let nodeSchema: MessageSchema | undefined;
const node = (): MessageSchema => (nodeSchema ??= requireMessage('envoy.config.core.v3.Node'));

export function encodeDiscoveryRequest(request: DiscoveryRequest): Buffer {
  const w = new Writer();
  if (request.version_info) w.tag(REQ_VERSION, LEN).string(request.version_info);
  if (request.node) w.tag(REQ_NODE, LEN).bytes(encodeMessage(node(), request.node));
  for (const name of request.resource_names) w.tag(REQ_RESOURCE_NAMES, LEN).string(name);
  if (request.type_url) w.tag(REQ_TYPE_URL, LEN).string(request.type_url);
  if (request.response_nonce) w.tag(REQ_NONCE, LEN).string(request.response_nonce);
  const error = request.error_detail;
  if (error) {
    w.message(REQ_ERROR, (e) => {
      if (error.code) e.tag(1, WireType.Varint).int32(error.code);
      if (error.message) e.tag(2, LEN).string(error.message);
    });
  }
  return w.finish();
}

export function decodeDiscoveryRequest(bytes: Buffer): DiscoveryRequest {
  const out: DiscoveryRequest = {
    version_info: '',
    resource_names: [],
    type_url: '',
    response_nonce: '',
  };
  const r = new Reader(asBuffer(bytes));
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case (REQ_VERSION << 3) | LEN:
        out.version_info = r.string();
        break;
      case (REQ_NODE << 3) | LEN:
        out.node = decodeMessage(node(), r.bytes()) as NodeMessage;
        break;
      case (REQ_RESOURCE_NAMES << 3) | LEN:
        out.resource_names.push(r.string());
        break;
      case (REQ_TYPE_URL << 3) | LEN:
        out.type_url = r.string();
        break;
      case (REQ_NONCE << 3) | LEN:
        out.response_nonce = r.string();
        break;
      case (REQ_ERROR << 3) | LEN:
        out.error_detail = decodeStatus(r.sub());
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}

/** google.rpc.Status: its code and message (details are not read). */
function decodeStatus(r: Reader): ErrorDetail {
  const status: ErrorDetail = { code: 0, message: '' };
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WireType.Varint)) status.code = r.uint32() | 0;
    else if (tag === ((2 << 3) | LEN)) status.message = r.string();
    else r.skip(tag & 7);
  }
  return status;
}

export function encodeDiscoveryResponse(response: DiscoveryResponse): Buffer {
  const w = new Writer();
  if (response.version_info) w.tag(RES_VERSION, LEN).string(response.version_info);
  for (const resource of response.resources) {
    w.message(RES_RESOURCES, (a) => {
      a.tag(1, LEN).string(resource.type_url);
      a.tag(2, LEN).bytes(resource.value);
    });
  }
  if (response.type_url) w.tag(RES_TYPE_URL, LEN).string(response.type_url);
  if (response.nonce) w.tag(RES_NONCE, LEN).string(response.nonce);
  const cp = response.control_plane;
  if (cp) w.message(RES_CONTROL_PLANE, (c) => c.tag(1, LEN).string(cp.identifier));
  return w.finish();
}

export function decodeDiscoveryResponse(bytes: Buffer): DiscoveryResponse {
  const out: DiscoveryResponse = { version_info: '', resources: [], type_url: '', nonce: '' };
  const r = new Reader(asBuffer(bytes));
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case (RES_VERSION << 3) | LEN:
        out.version_info = r.string();
        break;
      case (RES_RESOURCES << 3) | LEN:
        out.resources.push(decodePackedAny(r.sub()));
        break;
      case (RES_TYPE_URL << 3) | LEN:
        out.type_url = r.string();
        break;
      case (RES_NONCE << 3) | LEN:
        out.nonce = r.string();
        break;
      case (RES_CONTROL_PLANE << 3) | LEN: {
        const c = r.sub();
        const cp = { identifier: '' };
        while (c.pos < c.end) {
          const t = c.uint32();
          if (t === ((1 << 3) | LEN)) cp.identifier = c.string();
          else c.skip(t & 7);
        }
        out.control_plane = cp;
        break;
      }
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}

/** A resource as it came: its type URL and its bytes (a copy, so the response can go). */
function decodePackedAny(r: Reader): AnyMessage {
  const any: AnyMessage = { type_url: '', value: Buffer.alloc(0) };
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | LEN)) any.type_url = r.string();
    else if (tag === ((2 << 3) | LEN)) any.value = Buffer.from(r.bytes());
    else r.skip(tag & 7);
  }
  return any;
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
