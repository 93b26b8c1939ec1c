// skiff-secure's config is valid: a STRICT PeerAuthentication and an ALLOW policy with rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../src/config/parse.js';
import { formatProblem } from '../../src/config/resource.js';
import { checkSecure, secureYaml } from './secure.js';

test('a mesh-wide STRICT PeerAuthentication and an ALLOW AuthorizationPolicy, all valid', () => {
  const { resources, problems } = parseConfigText(secureYaml(), 'security.yaml');
  assert.deepEqual(problems.map(formatProblem), []);
  assert.deepEqual(
    resources.map((r) => r.kind),
    ['PeerAuthentication', 'AuthorizationPolicy'],
  );
});

test('checkSecure: TLS on both sidecars, RBAC on the inbound one', () => {
  const tls = '"envoy.transport_sockets.tls"';
  const rbac = '"envoy.filters.http.rbac"';
  assert.deepEqual(
    checkSecure([
      { label: 'outbound', configDump: tls },
      { label: 'inbound', configDump: `${tls} ${rbac}` },
    ]),
    [],
  );
  assert.deepEqual(
    checkSecure([
      { label: 'outbound', configDump: '' },
      { label: 'inbound', configDump: tls },
    ]),
    [
      'the outbound sidecar has no TLS transport socket (no mTLS)',
      'the inbound sidecar has no envoy.filters.http.rbac filter',
    ],
  );
});
