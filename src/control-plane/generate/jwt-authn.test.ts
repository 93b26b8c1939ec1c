// RequestAuthentication → jwt_authn: which proxies get it (scoping), what it says (Istio's
// provider fields and requirements), and that the proxy compiles what the generator writes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileListener } from '../../proxy/listeners/listener-config.js';
import { packAny, unpackAny } from '../../xds/any.js';
import type { ProxyNode } from '../../xds/node.js';
import { TypeUrl } from '../../xds/types.js';
import type { MeshModel } from '../model/mesh-model.js';
import { PUBLIC_ONLY_JWKS, jwtAuthnFilter, withJwtAuthn } from './jwt-authn.js';
import { buildSidecarListeners } from './listeners.js';
import { modelOf, workloadNode } from './testing.js';

type Obj = Record<string, unknown>;

const JWKS = JSON.stringify({ keys: [JSON.parse(PUBLIC_ONLY_JWKS).keys[0]] });

const ra = (name: string, ns: string, spec: string) => `
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: ${name}, namespace: ${ns}}
spec:
${spec}
---`;

const model = (text: string, jwks: Record<string, string> = {}): MeshModel =>
  modelOf(text, { jwks });
const node = workloadNode;

const issuers = (m: MeshModel, n: ProxyNode): string[] => {
  const f = jwtAuthnFilter(n, m.forProxy(n));
  const providers = ((f?.['typed_config'] as Obj | undefined)?.['providers'] ?? {}) as Record<
    string,
    Obj
  >;
  return Object.values(providers).map((p) => String(p['issuer']));
};

describe('RequestAuthentication scoping', () => {
  const m = model(
    ra('mesh', 'istio-system', `  jwtRules: [{issuer: mesh, jwks: '${JWKS}'}]`) +
      ra(
        'gw',
        'istio-system',
        `  selector: {matchLabels: {istio: ingressgateway}}\n  jwtRules: [{issuer: gw, jwks: '${JWKS}'}]`,
      ) +
      ra('ns', 'shop', `  jwtRules: [{issuer: ns-shop, jwks: '${JWKS}'}]`) +
      ra(
        'w',
        'shop',
        `  selector: {matchLabels: {app: cart}}\n  jwtRules: [{issuer: cart, jwks: '${JWKS}'}]`,
      ) +
      // A root-namespace policy with a selector: matching workloads of every namespace (Istio).
      ra(
        'root-sel',
        'istio-system',
        `  selector: {matchLabels: {app: cart}}\n  jwtRules: [{issuer: root-cart, jwks: '${JWKS}'}]`,
      ) +
      ra(
        'ref',
        'shop',
        `  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: g}]\n  jwtRules: [{issuer: ref, jwks: '${JWKS}'}]`,
      ),
  );
  it('combines mesh, namespace and selected workload rules, sorted by issuer', () => {
    assert.deepEqual(issuers(m, node('shop', { app: 'cart' })), [
      'cart',
      'mesh',
      'ns-shop',
      'root-cart',
    ]);
    assert.deepEqual(issuers(m, node('shop', { app: 'other' })), ['mesh', 'ns-shop']);
    assert.deepEqual(issuers(m, node('default', { app: 'cart' })), ['mesh', 'root-cart']);
    assert.deepEqual(issuers(m, node('istio-system', { istio: 'ingressgateway' }, 'router')), [
      'gw',
      'mesh',
    ]);
  });
});

describe('jwt_authn generation', () => {
  it('writes Istio’s provider fields and the fail-closed key set for an unfetched jwksUri', () => {
    const m = model(
      ra(
        'r',
        'default',
        `  jwtRules:
  - issuer: https://a.example
    jwksUri: https://a.example/jwks.json
    audiences: [x]
    fromHeaders: [{name: x-jwt, prefix: "Tok "}]
    fromParams: [tok]
    fromCookies: [c]
    outputPayloadToHeader: x-payload
    forwardOriginalToken: true
    outputClaimToHeaders: [{header: x-sub, claim: sub}]
  - issuer: https://b.example
    jwksUri: https://b.example/jwks.json`,
      ),
      { 'https://b.example/jwks.json': JWKS },
    );
    const n = node('default', {});
    const f = jwtAuthnFilter(n, m.forProxy(n));
    const config = f?.['typed_config'] as Obj;
    const p0 = (config['providers'] as Record<string, Obj>)['origins-0'] as Obj;
    assert.deepEqual(p0['from_headers'], [{ name: 'x-jwt', value_prefix: 'Tok ' }]);
    assert.deepEqual(p0['claim_to_headers'], [{ header_name: 'x-sub', claim_name: 'sub' }]);
    assert.equal(p0['forward'], true);
    assert.equal(p0['forward_payload_header'], 'x-payload');
    assert.deepEqual(p0['local_jwks'], { inline_string: PUBLIC_ONLY_JWKS });
    const p1 = (config['providers'] as Record<string, Obj>)['origins-1'] as Obj;
    assert.deepEqual(p1['local_jwks'], { inline_string: JWKS });
    const rules = config['rules'] as Obj[];
    const any = ((rules[0]?.['requires'] as Obj)['requires_any'] as Obj)['requirements'] as Obj[];
    assert.deepEqual(any.slice(0, 2), [
      { provider_name: 'origins-0' },
      { provider_name: 'origins-1' },
    ]);
    assert.ok(any[2]?.['requires_all']);
  });

  it('goes on inbound listeners and gateway listeners, first, and the proxy compiles it', () => {
    const m = model(ra('r', 'default', `  jwtRules: [{issuer: me, jwks: '${JWKS}'}]`));
    const n = node('default', {});
    const listeners = buildSidecarListeners(n, m.forProxy(n));
    let inbound = 0;
    for (const l of listeners) {
      const compiled = compileListener(unpackAny(packAny(TypeUrl.Listener, l.resource)));
      for (const chain of compiled.filterChains) {
        const names = chain.hcm?.filters.map((f) => f.name) ?? [];
        if (compiled.direction === 'INBOUND' && chain.hcm) {
          assert.equal(names[0], 'envoy.filters.http.jwt_authn');
          inbound++;
        } else assert.ok(!names.includes('envoy.filters.http.jwt_authn'), 'not on outbound');
      }
    }
    assert.ok(inbound > 0, 'an inbound HTTP chain was checked');
    // A gateway's listeners carry no direction: every HTTP one gets the filter.
    const g = node('default', {}, 'router');
    const outboundHcm = buildSidecarListeners(n).find((l) =>
      JSON.stringify(l.resource).includes('HttpConnectionManager'),
    );
    assert.ok(outboundHcm, 'a listener with an HCM to hand to the gateway path');
    const [gw] = withJwtAuthn(
      [
        {
          ...outboundHcm,
          resource: { ...(outboundHcm.resource as Obj), traffic_direction: undefined },
        },
      ],
      g,
      m.forProxy(g),
    );
    assert.match(JSON.stringify(gw?.resource), /envoy\.filters\.http\.jwt_authn/);
  });
});
