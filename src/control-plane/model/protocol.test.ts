import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isHttpProtocol, parseProtocol, protocolOfServicePort } from './protocol.js';

test("a Service port's protocol follows Istio's ConvertProtocol", () => {
  assert.equal(protocolOfServicePort({ name: 'http' }), 'HTTP');
  assert.equal(protocolOfServicePort({ name: 'http-web' }), 'HTTP');
  assert.equal(protocolOfServicePort({ name: 'HTTP2-x' }), 'HTTP2');
  assert.equal(protocolOfServicePort({ name: 'grpc' }), 'GRPC');
  assert.equal(protocolOfServicePort({ name: 'tcp-db' }), 'TCP');
  assert.equal(protocolOfServicePort({ name: 'mongo' }), 'Mongo');
  assert.equal(protocolOfServicePort({ name: 'web' }), 'Unsupported');
  assert.equal(protocolOfServicePort({ name: 'httpx' }), 'Unsupported');
  assert.equal(protocolOfServicePort({}), 'Unsupported');
  assert.equal(protocolOfServicePort({ name: 'http', protocol: 'UDP' }), 'UDP');
  assert.equal(parseProtocol(undefined), undefined);
  assert.equal(parseProtocol('HTTPS'), 'HTTPS');
});

test('regression: grpc-web names, appProtocol and well-known ports as Istio reads them', () => {
  // "grpc-web" contains the separator: Istio checks it before splitting the name.
  assert.equal(protocolOfServicePort({ name: 'grpc-web' }), 'GRPC-Web');
  assert.equal(protocolOfServicePort({ name: 'grpc-web-ui' }), 'GRPC-Web');
  // appProtocol replaces the name, even when Istio does not know it.
  assert.equal(protocolOfServicePort({ name: 'http', appProtocol: 'tcp' }), 'TCP');
  assert.equal(protocolOfServicePort({ name: 'http', appProtocol: 'thrift' }), 'Unsupported');
  assert.equal(protocolOfServicePort({ name: 'db', appProtocol: 'kubernetes.io/h2c' }), 'HTTP2');
  assert.equal(protocolOfServicePort({ name: 'db', appProtocol: 'kubernetes.io/ws' }), 'HTTP');
  assert.equal(protocolOfServicePort({ name: 'web', appProtocol: 'kubernetes.io/wss' }), 'HTTPS');
  // Unnamed SMTP, DNS, MySQL and MongoDB ports are never sniffed: TCP.
  assert.equal(protocolOfServicePort({ port: 3306 }), 'TCP');
  assert.equal(protocolOfServicePort({ name: 'db', port: 27017 }), 'TCP');
  assert.equal(protocolOfServicePort({ name: 'http', port: 3306 }), 'HTTP');
  assert.equal(protocolOfServicePort({ port: 8080 }), 'Unsupported');
});

test('HTTP routes are built for HTTP-family and unknown (sniffed) ports only', () => {
  for (const p of ['HTTP', 'HTTP2', 'GRPC', 'GRPC-Web', 'Unsupported'] as const)
    assert.ok(isHttpProtocol(p), p);
  for (const p of ['TCP', 'TLS', 'HTTPS', 'Mongo', 'UDP'] as const)
    assert.ok(!isHttpProtocol(p), p);
});
