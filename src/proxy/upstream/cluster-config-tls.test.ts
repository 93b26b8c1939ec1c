// transport_socket_matches at run time: a host's transport follows its endpoint metadata, and a
// proxy whose workload identity arrives after its clusters picks mTLS up then.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { autoMtlsMatches, istioMutualTransportSocket } from '../../control-plane/generate/mtls.js';
import { makeCa, makeLeaf } from '../../../test/support/tls.js';
import { installIdentity } from '../identity/files.js';
import { proxySecrets } from '../tls/secret-store.js';
import { Cluster } from './cluster.js';
import { compileCluster } from './cluster-config.js';

const endpoint = (port: number, tlsMode: string) => ({
  endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
  metadata: { filter_metadata: { 'envoy.transport_socket_match': { tlsMode } } },
});

test('per-host transport by tlsMode; identity arriving later turns auto mTLS on', () => {
  const cluster = new Cluster(
    compileCluster({
      name: 'c',
      type: 'STATIC',
      lb_policy: 'ROUND_ROBIN',
      transport_socket_matches: autoMtlsMatches(
        istioMutualTransportSocket({ sni: 's', subjectAltNames: [], http2: false }),
      ),
      load_assignment: {
        cluster_name: 'c',
        endpoints: [{ lb_endpoints: [endpoint(1001, 'istio'), endpoint(1002, 'disabled')] }],
      },
    }),
  );
  const tlsOf = (port: number) => cluster.hosts.find((h) => h.port === port)?.tls;
  // No identity yet (a fresh process): nothing can originate Istio mTLS.
  assert.equal(proxySecrets.get('default'), undefined);
  assert.equal(tlsOf(1001), undefined);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-tsm-'));
  try {
    const ca = makeCa(dir);
    const leaf = makeLeaf(dir, 'w', ca, ['URI:spiffe://cluster.local/ns/a/sa/b']);
    installIdentity(proxySecrets, {
      certChain: leaf.cert,
      privateKey: leaf.key,
      rootCert: ca.cert,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  cluster.chooseHost({ authority: 'x' });
  assert.ok(tlsOf(1001), 'the tlsMode istio host now originates mTLS');
  assert.equal(tlsOf(1002), undefined, 'the other stays plaintext');
  void cluster.close();
});
