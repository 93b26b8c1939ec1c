// AuthorizationPolicy → RBAC: scoping, the filters' order and actions, Istio's policy shape,
// TCP semantics, CUSTOM (shadow rules + ext_authz), and that the proxy compiles what is written.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../config/parse.js';
import { compileListener } from '../../proxy/listeners/listener-config.js';
import { packAny, unpackAny } from '../../xds/any.js';
import type { ProxyNode } from '../../xds/node.js';
import { TypeUrl } from '../../xds/types.js';
import { DEFAULT_MESH_CONFIG, applyMeshConfig } from '../model/mesh-config.js';
import type { MeshConfig } from '../model/mesh-config.js';
import type { MeshModel } from '../model/mesh-model.js';
import { buildGatewayListeners, buildSidecarListeners } from './listeners.js';
import { authzNetworkFilters } from './rbac.js';
import { rbacPolicies, rulePolicy } from './rbac-rules.js';
import { modelOf, workloadNode } from './testing.js';

type Obj = Record<string, unknown>;

const ap = (name: string, ns: string, spec: string) => `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ${name}, namespace: ${ns}}
spec:
${spec}
---`;

const model = (text: string, meshConfig?: MeshConfig): MeshModel =>
  modelOf(text, meshConfig ? { meshConfig } : {});
const node = (labels: Record<string, string>, type: 'sidecar' | 'router' = 'sidecar'): ProxyNode =>
  workloadNode('shop', labels, type);

/** The inbound listener's HTTP filter names and their typed configs. */
function inboundHttpFilters(m: MeshModel, n: ProxyNode): Obj[] {
  const l = buildSidecarListeners(n, m.forProxy(n)).find(
    (x) => (x.resource as Obj)['traffic_direction'] === 'INBOUND',
  );
  assert.ok(l);
  // The proxy compiles it (the protos keep every field).
  compileListener(unpackAny(packAny(TypeUrl.Listener, l.resource)));
  const chain = ((l.resource as Obj)['filter_chains'] as Obj[])[0] as Obj;
  const hcm = (chain['filters'] as Obj[]).find((f) =>
    String(f['name']).includes('http_connection'),
  );
  return ((hcm?.['typed_config'] as Obj)['http_filters'] as Obj[]).map((f) => ({
    name: f['name'],
    ...(f['typed_config'] as Obj),
  }));
}

describe('AuthorizationPolicy generation', () => {
  it('no policy, no filter; scoping by root namespace, namespace and selector', () => {
    const m = model(
      ap('mesh', 'istio-system', '  action: DENY\n  rules: [{to: [{operation: {paths: [/m]}}]}]') +
        ap('other', 'elsewhere', '  {}') +
        ap('sel', 'shop', '  selector: {matchLabels: {app: a}}'),
    );
    const names = (labels: Record<string, string>) =>
      inboundHttpFilters(m, node(labels))
        .filter((f) => f['name'] === 'envoy.filters.http.rbac')
        .map((f) => (f['rules'] as Obj)['action']);
    assert.deepEqual(names({ app: 'b' }), ['DENY']);
    // `sel` has no rules: an ALLOW without rules allows nothing.
    assert.deepEqual(names({ app: 'a' }), ['DENY', 'ALLOW']);
    const allowNothing = inboundHttpFilters(m, node({ app: 'a' })).at(-4) as Obj;
    assert.deepEqual((allowNothing['rules'] as Obj)['policies'], {});
    const none = model(ap('x', 'elsewhere', '  action: DENY\n  rules: [{}]'));
    assert.ok(
      !inboundHttpFilters(none, node({})).some((f) => f['name'] === 'envoy.filters.http.rbac'),
    );
  });

  it('order: custom (shadow rbac, ext_authz), audit, deny, allow, before fault and router', () => {
    const mesh = applyMeshConfig(DEFAULT_MESH_CONFIG, {
      extensionProviders: [
        {
          name: 'authz',
          envoyExtAuthzHttp: {
            service: 'authz.shop.svc.cluster.local',
            port: 8000,
            failOpen: true,
            headersToUpstreamOnAllow: ['x-user'],
          },
        },
      ],
    });
    const m = model(
      ap(
        'c',
        'shop',
        '  action: CUSTOM\n  provider: {name: authz}\n  rules: [{to: [{operation: {paths: [/c*]}}]}]',
      ) +
        ap('a', 'shop', '  action: AUDIT\n  rules: [{}]') +
        ap('d', 'shop', '  action: DENY\n  rules: [{}]') +
        ap('al', 'shop', '  rules: [{}]'),
      mesh,
    );
    const fs = inboundHttpFilters(m, node({}));
    assert.deepEqual(
      fs.map((f) => f['name']),
      [
        'envoy.filters.http.rbac',
        'envoy.filters.http.ext_authz',
        'envoy.filters.http.rbac',
        'envoy.filters.http.rbac',
        'envoy.filters.http.rbac',
        'envoy.filters.http.fault',
        'envoy.filters.http.cors',
        'envoy.filters.http.router',
      ],
    );
    assert.deepEqual(Object.keys((fs[0]?.['shadow_rules'] as Obj)['policies'] as Obj), [
      'istio-ext-authz-authz-ns[shop]-policy[c]-rule[0]',
    ]);
    assert.equal(fs[0]?.['shadow_rules_stat_prefix'], 'istio_ext_authz_');
    const ext = fs[1] as Obj;
    assert.equal(ext['failure_mode_allow'], true);
    assert.deepEqual(ext['filter_enabled_metadata'], {
      filter: 'envoy.filters.http.rbac',
      path: [{ key: 'istio_ext_authz_shadow_effective_policy_id' }],
      value: { string_match: { prefix: 'istio-ext-authz-authz' } },
    });
    const svc = ext['http_service'] as Obj;
    assert.equal(
      (svc['server_uri'] as Obj)['cluster'],
      'outbound|8000||authz.shop.svc.cluster.local',
    );
    assert.deepEqual(
      ((svc['authorization_response'] as Obj)['allowed_upstream_headers'] as Obj)['patterns'],
      [{ exact: 'x-user', ignore_case: true }],
    );
    assert.deepEqual(
      [2, 3, 4].map((i) => (fs[i]?.['rules'] as Obj)['action']),
      ['LOG', 'DENY', 'ALLOW'],
    );
  });

  it("Istio's policy shape: from/to/when, values ORed, not forms negated, ports made local", () => {
    const m = model(
      ap(
        'p',
        'shop',
        `  rules:
  - from:
    - source: {principals: [cluster.local/ns/a/sa/b, "*x"], notNamespaces: [bad], ipBlocks: [10.0.0.0/8]}
    to:
    - operation: {methods: [GET], paths: [/api/*, /exact], ports: ["9080"], notHosts: [evil.com]}
    when:
    - {key: 'request.auth.claims[groups][0]', values: [admin]}
    - {key: destination.port, values: ["9080"]}`,
      ),
    );
    const rbac = inboundHttpFilters(m, node({})).find(
      (f) => f['name'] === 'envoy.filters.http.rbac',
    ) as Obj;
    const policy = ((rbac['rules'] as Obj)['policies'] as Record<string, Obj>)[
      'ns[shop]-policy[p]-rule[0]'
    ] as Obj;
    const header = (name: string, m: Obj) => ({ header: { name, ...m } });
    assert.deepEqual(policy['permissions'], [
      {
        and_rules: {
          rules: [
            {
              not_rule: {
                or_rules: {
                  rules: [
                    header(':authority', {
                      string_match: { exact: 'evil.com', ignore_case: true },
                    }),
                  ],
                },
              },
            },
            { or_rules: { rules: [header(':method', { string_match: { exact: 'GET' } })] } },
            {
              or_rules: {
                rules: [
                  { url_path: { path: { prefix: '/api/' } } },
                  { url_path: { path: { exact: '/exact' } } },
                ],
              },
            },
            { or_rules: { rules: [{ destination_port: 31000 }] } },
            { or_rules: { rules: [{ destination_port: 31000 }] } },
          ],
        },
      },
    ]);
    const ids = ((policy['principals'] as Obj[])[0] as Obj)['and_ids'] as Obj;
    const authn = (m: Obj) => ({ authenticated: { principal_name: m } });
    assert.deepEqual(ids['ids'], [
      {
        or_ids: {
          ids: [
            authn({ exact: 'spiffe://cluster.local/ns/a/sa/b' }),
            authn({ safe_regex: { regex: 'spiffe://.*x' } }),
          ],
        },
      },
      { not_id: { or_ids: { ids: [authn({ safe_regex: { regex: '.*/ns/bad/.*' } })] } } },
      { or_ids: { ids: [{ direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } }] } },
      {
        metadata: {
          filter: 'envoy.filters.http.jwt_authn',
          path: [{ key: 'payload' }, { key: 'groups' }, { key: '0' }],
          value: {
            or_match: {
              value_matchers: [
                {
                  list_match: {
                    one_of: {
                      or_match: { value_matchers: [{ string_match: { exact: 'admin' } }] },
                    },
                  },
                },
                { or_match: { value_matchers: [{ string_match: { exact: 'admin' } }] } },
              ],
            },
          },
        },
      },
    ]);
  });

  it('requestPrincipals: iss/sub split at the last "/" (Istio), serviceAccounts as a regex', () => {
    const p = rulePolicy(
      {
        from: [
          { source: { requestPrincipals: ['https://a.com/x/alice'], serviceAccounts: ['sa'] } },
        ],
      },
      'shop',
    );
    const md = (claim: string, m: Obj) => ({
      metadata: {
        filter: 'envoy.filters.http.jwt_authn',
        path: [{ key: 'payload' }, { key: claim }],
        value: { string_match: m },
      },
    });
    assert.deepEqual(((p['principals'] as Obj[])[0] as Obj)['and_ids'], {
      ids: [
        {
          and_ids: {
            ids: [md('iss', { exact: 'https://a.com/x' }), md('sub', { exact: 'alice' })],
          },
        },
        {
          or_ids: {
            ids: [
              {
                authenticated: {
                  principal_name: {
                    safe_regex: { regex: 'spiffe://.+/ns/shop/(.+/|)sa/sa(/.+)?' },
                  },
                },
              },
            ],
          },
        },
      ],
    });
  });

  it('TCP: an ALLOW rule with HTTP fields is left out, a DENY rule loses them and still denies', () => {
    const all = parseConfigText(
      ap(
        'al',
        'shop',
        '  rules: [{to: [{operation: {methods: [GET]}}]}, {to: [{operation: {ports: ["1"]}}]}]',
      ) +
        ap(
          'd',
          'shop',
          '  action: DENY\n  rules: [{to: [{operation: {methods: [GET], ports: ["2"]}}]}]',
        ),
      'x.yaml',
    ).resources as never[];
    const allow = rbacPolicies([all[0] as never], { tcp: true });
    assert.deepEqual(Object.keys(allow), ['ns[shop]-policy[al]-rule[1]']);
    const deny = rbacPolicies([all[1] as never], { tcp: true });
    assert.deepEqual(deny['ns[shop]-policy[d]-rule[0]'], {
      permissions: [{ and_rules: { rules: [{ or_rules: { rules: [{ destination_port: 2 }] } }] } }],
      principals: [{ and_ids: { ids: [{ any: true }] } }],
    });
  });

  it('TCP: a CUSTOM policy whose provider is missing denies what it matches; an HTTP one is left out', () => {
    const mesh = applyMeshConfig(DEFAULT_MESH_CONFIG, {
      extensionProviders: [{ name: 'http', envoyExtAuthzHttp: { service: 'a', port: 80 } }],
    });
    const custom = (name: string, provider: string) =>
      ap(name, 'shop', `  action: CUSTOM\n  provider: {name: ${provider}}\n  rules: [{}]`);
    const m = model(custom('c1', 'gone') + custom('c2', 'http'), mesh);
    const fs = authzNetworkFilters(m.authorizationFor(node({})), m);
    assert.equal(fs.length, 1);
    const rules = ((fs[0]?.['typed_config'] as Obj)['rules'] ?? {}) as Obj;
    assert.equal(rules['action'], 'DENY');
    assert.deepEqual(Object.keys(rules['policies'] as Obj), ['ns[shop]-policy[c1]-rule[0]']);
  });

  it('istio.io/dry-run: the policy becomes shadow rules, evaluated but never enforced', () => {
    const dry = (name: string, action: string) => `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ${name}, namespace: shop, annotations: {istio.io/dry-run: "true"}}
spec: {action: ${action}, rules: [{}]}
---`;
    const m = model(
      dry('d', 'DENY') +
        dry('a', 'ALLOW') +
        ap('e', 'shop', '  action: DENY\n  rules: [{to: [{operation: {paths: [/x]}}]}]'),
    );
    const rbac = inboundHttpFilters(m, node({})).filter(
      (f) => f['name'] === 'envoy.filters.http.rbac',
    );
    assert.equal(rbac.length, 2);
    const [deny, allow] = rbac as [Obj, Obj];
    assert.deepEqual(Object.keys((deny['rules'] as Obj)['policies'] as Obj), [
      'ns[shop]-policy[e]-rule[0]',
    ]);
    assert.deepEqual(Object.keys((deny['shadow_rules'] as Obj)['policies'] as Obj), [
      'ns[shop]-policy[d]-rule[0]',
    ]);
    assert.equal(deny['shadow_rules_stat_prefix'], 'istio_dry_run_deny_');
    assert.equal(allow['rules'], undefined, 'a dry-run ALLOW enforces nothing');
    assert.equal(allow['shadow_rules_stat_prefix'], 'istio_dry_run_allow_');
  });

  it('an empty rule matches everything', () => {
    assert.deepEqual(rulePolicy({}, 'ns'), {
      permissions: [{ and_rules: { rules: [{ any: true }] } }],
      principals: [{ and_ids: { ids: [{ any: true }] } }],
    });
  });

  it('gateways get the HTTP filters on their listeners (no sidecar direction filter)', () => {
    const m = model(
      ap(
        'gw',
        'istio-system',
        '  selector: {matchLabels: {istio: ingressgateway}}\n  action: DENY\n  rules: [{from: [{source: {remoteIpBlocks: [1.2.3.4]}}]}]',
      ),
    );
    const n = { ...node({ istio: 'ingressgateway' }, 'router'), namespace: 'istio-system' };
    const ls = buildGatewayListeners(
      n,
      [
        {
          port: { number: 80, name: 'http', protocol: 'HTTP' },
          protocol: 'HTTP',
          hostPort: 30080,
        } as never,
      ],
      m.forProxy(n),
    );
    const chain = (((ls[0]?.resource as Obj)['filter_chains'] as Obj[])[0] as Obj)[
      'filters'
    ] as Obj[];
    const hcm = chain[0]?.['typed_config'] as Obj;
    assert.ok((hcm['http_filters'] as Obj[]).some((f) => f['name'] === 'envoy.filters.http.rbac'));
  });
});
