import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileListener } from '../../proxy/listeners/listener-config.js';
import { selectChain } from '../../proxy/listeners/filter-chain-match.js';
import { RouteTable } from '../../proxy/routes/route-table.js';
import { packAny, unpackAny } from '../../xds/any.js';
import type { ProxyNode } from '../../xds/node.js';
import { TypeUrl } from '../../xds/types.js';
import type { MeshModel } from '../model/mesh-model.js';
import { MESH_GATEWAY } from '../model/mesh-model.js';
import { sidecarHttpProxyRoute } from './routes.js';
import { outboundTunnelListener, withTunnelRoutes } from './sidecar-tunnel.js';
import type { L4Context } from './tcp-routes.js';
import { longestPrefixMatch, tcpRouteChains, tcpRouteFilter } from './tcp-routes.js';
import { modelOf as model } from './testing.js';

type Obj = Record<string, unknown>;

const node: ProxyNode = {
  id: 'sidecar~127.0.0.1~client-0.default~default.svc.cluster.local',
  type: 'sidecar',
  name: 'client-0',
  namespace: 'default',
  workloadName: 'client',
  serviceAccount: 'default',
  labels: { app: 'client' },
  ip: '127.0.0.1',
  outboundPort: 15001,
  inbound: [],
  istioVersion: '',
};

const MESH = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: range }
spec:
  hosts: [db.range.internal]
  addresses: [10.77.0.0/16, 'fd00:77::/40']
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1 }]
  ports: [{ number: 5432, name: tcp, protocol: TCP }]
---
apiVersion: v1
kind: Service
metadata: { name: near }
spec: { ports: [{ name: tcp, port: 5432 }] }
---
apiVersion: v1
kind: Service
metadata: { name: far }
spec: { ports: [{ name: tcp, port: 5432 }] }
---
apiVersion: v1
kind: Service
metadata: { name: vip }
spec: { clusterIP: 10.77.1.9, ports: [{ name: tcp, port: 5432 }] }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: range }
spec:
  hosts: [db.range.internal, vip]
  tcp:
    - match: [{ destinationSubnets: [10.77.1.0/24, 'fd00:77:1::/48'] }]
      route: [{ destination: { host: near } }]
    - match: [{ destinationSubnets: [10.77.1.128/25] }, { sourceLabels: { app: other } }]
      route: [{ destination: { host: far } }]
`;

function ctx(m: MeshModel): L4Context {
  return { model: m, port: 5432, gateway: MESH_GATEWAY, labels: node.labels, namespace: 'default' };
}

const clusterOf = (filter: Obj | undefined) =>
  ((filter?.['typed_config'] as Obj | undefined)?.['cluster'] as string | undefined) ?? '';

test('CIDR matching, IPv4 and IPv6: the longest prefix holding the address', () => {
  const subnets = ['10.0.0.0/8', '10.77.0.0/16', '10.77.1.7', 'fd00::/8', 'fd00:77:1::/48'];
  assert.equal(longestPrefixMatch(subnets, '10.77.1.7'), 32);
  assert.equal(longestPrefixMatch(subnets, '10.77.200.1'), 16);
  assert.equal(longestPrefixMatch(subnets, '10.1.1.1'), 8);
  assert.equal(longestPrefixMatch(subnets, '11.0.0.1'), -1);
  assert.equal(longestPrefixMatch(subnets, 'fd00:77:1:ffff::1'), 48);
  assert.equal(longestPrefixMatch(subnets, 'fd00:77:2::1'), 8);
  assert.equal(longestPrefixMatch(subnets, 'fe80::1'), -1);
  assert.equal(longestPrefixMatch(subnets, undefined), -1, 'no address: no subnet holds');
  assert.equal(longestPrefixMatch(['10.0.0.0/33', 'x/8'], '10.0.0.1'), -1, 'malformed: skipped');
});

test('tcp routes: subnet matches become chains until a terminal route (Istio order)', () => {
  const m = model(MESH);
  const vses = m.virtualServicesFor(MESH_GATEWAY, 'default');
  const { subnetChains, terminal } = tcpRouteChains(vses, ctx(m));
  // The second route's sourceLabels match does not hold: only its subnet match is left.
  assert.deepEqual(
    subnetChains.map((c) => [c.subnets, clusterOf(c.filter)]),
    [
      [['10.77.1.0/24', 'fd00:77:1::/48'], 'outbound|5432||near.default.svc.cluster.local'],
      [['10.77.1.128/25'], 'outbound|5432||far.default.svc.cluster.local'],
    ],
  );
  assert.equal(terminal, undefined);
  // Decided for a known destination: the most specific subnet, else no route.
  assert.match(clusterOf(tcpRouteFilter(vses, ctx(m), '10.77.1.200')), /far/);
  assert.match(clusterOf(tcpRouteFilter(vses, ctx(m), '10.77.1.9')), /near/);
  assert.equal(tcpRouteFilter(vses, ctx(m), '10.77.2.1'), undefined);
  assert.equal(tcpRouteFilter(vses, ctx(m), undefined), undefined);
  // A gateway ignores destinationSubnets: the first route holds.
  assert.match(clusterOf(tcpRouteChains(vses, ctx(m), true).terminal), /near/);
});

test('the sidecar: IP tunnels reach prefix_ranges chains; a name is decided by its VIP', () => {
  const m = model(MESH);
  const http = { name: 'envoy.filters.network.http_connection_manager', typed_config: {} };
  const listener = outboundTunnelListener(node, m, http).resource as Obj;
  const chains = listener['filter_chains'] as Obj[];
  const compiled = compileListener(
    unpackAny(packAny(TypeUrl.Listener, { ...listener, default_filter_chain: undefined })),
  );
  const at = (authority: string) => {
    const chain = selectChain(compiled.filterChains, {
      listenerName: 'outbound_tunnel',
      localPort: 5432,
      localAddress: '127.0.0.1',
      remoteAddress: '127.0.0.1',
      remotePort: 1,
      transportProtocol: 'raw_buffer',
      serverName: '',
      applicationProtocols: [],
      tunnelAuthority: authority,
      startTime: 0,
    });
    const i = chain ? compiled.filterChains.indexOf(chain) : -1;
    return clusterOf((chains[i]?.['filters'] as Obj[] | undefined)?.[0]);
  };
  assert.match(at('10.77.1.5:5432'), /\|near\./, 'in the /24');
  assert.match(at('10.77.1.130:5432'), /\|far\./, 'the /25 is more specific');
  assert.match(at('[fd00:77:1::5]:5432'), /\|near\./);
  assert.match(at('10.77.2.5:5432'), /\|db\.range\.internal$/, "in the ServiceEntry's block");
  assert.match(at('[fd00:77:2::5]:5432'), /\|db\.range\.internal$/);
  assert.equal(at('10.99.0.1:5432'), 'PassthroughCluster', 'any other address');
  assert.equal(listener['listener_filters'], undefined, 'no SNI chains: no tls_inspector');

  const routes = withTunnelRoutes(sidecarHttpProxyRoute(node, m), node, m);
  const table = RouteTable.compile(unpackAny(packAny(TypeUrl.RouteConfiguration, routes.resource)));
  const connect = (authority: string) => {
    const r = table.route({
      method: 'CONNECT',
      authority,
      path: '',
      query: '',
      scheme: 'http',
      headers: {},
    });
    return JSON.stringify(r?.route.action ?? null);
  };
  assert.match(connect('10.77.1.5:5432'), /outbound_tunnel/);
  assert.match(connect('[fd00:77:1::5]:5432'), /outbound_tunnel/);
  assert.match(connect('10.77.1.5:5433'), /PassthroughCluster/, 'another port: as before');
  assert.match(connect('example.com:5432'), /PassthroughCluster/, 'a name is not an address');
  // vip resolves to 10.77.1.9, inside the /24: its tunnels go to near, by name or address.
  assert.match(connect('vip:5432'), /\|near\./);
  assert.match(connect('10.77.1.9:5432'), /\|near\./);
  // No VIP: the name has no address, no subnet holds, the ServiceEntry's own cluster.
  assert.match(connect('db.range.internal:5432'), /\|db\.range\.internal"/);
});
