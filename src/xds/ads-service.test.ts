import assert from 'node:assert/strict';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import {
  decodeCertificateRequest,
  decodeCertificateResponse,
  encodeCertificateRequest,
  encodeCertificateResponse,
} from '../pki/ca-api.js';
import {
  decodeDiscoveryRequest,
  decodeDiscoveryResponse,
  encodeDiscoveryRequest,
  encodeDiscoveryResponse,
} from './ads-service.js';
import type { DiscoveryRequest, DiscoveryResponse } from './ads-service.js';
import { packAny } from './any.js';
import { lookupMessage } from './protos.js';
import { TypeUrl } from './types.js';
import { decodeWithProtobufjs } from './wire/testing.js';

// The stream's messages are written by hand on the wire (ads-service.ts); protobufjs, which knows
// the protos, must read them back the same, and they must read back what protobufjs writes.

const REQUEST: DiscoveryRequest = {
  version_info: 'v1',
  node: {
    id: 'sidecar~127.0.0.1~a-0.default~default.svc.cluster.local',
    cluster: 'a.default',
    metadata: { NAMESPACE: 'default', LABELS: { app: 'a' }, INSTANCE_IPS: '127.0.0.1' },
    user_agent_name: 'skiff',
  },
  resource_names: ['outbound|9080||a.default.svc.cluster.local', 'x'],
  type_url: TypeUrl.ClusterLoadAssignment,
  response_nonce: 'n-7',
  error_detail: { code: 3, message: 'listener l: no such cluster' },
};

test('a DiscoveryRequest round-trips and protobufjs reads every field of it', () => {
  const bytes = encodeDiscoveryRequest(REQUEST);
  assert.deepStrictEqual(decodeDiscoveryRequest(bytes), REQUEST);
  const seen = decodeWithProtobufjs('envoy.service.discovery.v3.DiscoveryRequest', bytes);
  assert.deepStrictEqual(seen, REQUEST);
});

test('a DiscoveryRequest protobufjs wrote reads back, first request without a version', () => {
  const type = lookupMessage('envoy.service.discovery.v3.DiscoveryRequest');
  const bytes = type
    .encode(type.fromObject({ type_url: TypeUrl.Cluster, node: { id: 'n' } }))
    .finish();
  assert.deepStrictEqual(decodeDiscoveryRequest(Buffer.from(bytes)), {
    version_info: '',
    node: { id: 'n' },
    resource_names: [],
    type_url: TypeUrl.Cluster,
    response_nonce: '',
  });
});

test('a DiscoveryResponse keeps its resources packed, byte for byte, both ways', () => {
  const resources = [
    packAny(TypeUrl.Cluster, { name: 'c1', connect_timeout: '1s' }),
    packAny(TypeUrl.Cluster, { name: 'c2' }),
  ];
  const response: DiscoveryResponse = {
    version_info: 'abc',
    resources,
    type_url: TypeUrl.Cluster,
    nonce: '1',
    control_plane: { identifier: 'skiff' },
  };
  const bytes = encodeDiscoveryResponse(response);
  assert.deepStrictEqual(decodeDiscoveryResponse(bytes), response);
  const type = lookupMessage('envoy.service.discovery.v3.DiscoveryResponse');
  const theirs = Buffer.from(type.encode(response as unknown as protobuf.Message).finish());
  assert.deepStrictEqual(bytes, theirs);
});

test("the CA's request and response round-trip and match protobufjs's encoding", () => {
  const req = { csr: '-----BEGIN CERTIFICATE REQUEST-----\n...', validity_duration: 86400 };
  assert.deepStrictEqual(decodeCertificateRequest(encodeCertificateRequest(req)), req);
  const withMetadata = { ...req, metadata: { ClusterID: 'Kubernetes' } };
  assert.deepStrictEqual(
    decodeCertificateRequest(encodeCertificateRequest(withMetadata)),
    withMetadata,
  );
  const root = new protobuf.Root();
  root.add(
    new protobuf.Type('Req')
      .add(new protobuf.Field('csr', 1, 'string'))
      .add(new protobuf.Field('validity_duration', 3, 'int64')),
  );
  root.add(new protobuf.Type('Res').add(new protobuf.Field('cert_chain', 1, 'string', 'repeated')));
  const Req = root.lookupType('Req');
  assert.deepStrictEqual(
    encodeCertificateRequest(req),
    Buffer.from(Req.encode(Req.fromObject(req)).finish()),
  );
  const res = { cert_chain: ['leaf', 'intermediate', 'root'] };
  const Res = root.lookupType('Res');
  assert.deepStrictEqual(
    encodeCertificateResponse(res),
    Buffer.from(Res.encode(Res.fromObject(res)).finish()),
  );
  assert.deepStrictEqual(decodeCertificateResponse(encodeCertificateResponse(res)), res);
});
