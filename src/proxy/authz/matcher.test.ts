// RBAC matchers: every permission and principal rule, Istio's istio_authn metadata over the
// verified JWT, policy order and actions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuthzRequest } from './matcher.js';
import { compilePermission, compilePrincipal, compileRbac, evaluate } from './matcher.js';
import { xffRemote } from './request.js';

type Obj = Record<string, unknown>;

const req = (over: Partial<AuthzRequest> = {}): AuthzRequest => ({
  directRemoteIp: '::ffff:10.1.2.3',
  remoteIp: '1.2.3.4',
  destinationIp: '127.0.0.1',
  destinationPort: 9080,
  peerPrincipal: 'spiffe://cluster.local/ns/shop/sa/web',
  sni: 'outbound_.9080_._.svc',
  view: {
    method: 'GET',
    scheme: 'http',
    authority: 'Svc:9080',
    path: '/api/v1',
    query: 'a=1',
    headers: { 'x-team': 'blue' },
  },
  requestAuth: {
    principal: 'iss/alice',
    claims: { iss: 'iss', sub: 'alice', groups: ['admin'], n: { k: 'v' }, role: 'ops' },
    audiences: ['aud'],
    presenter: 'pres',
  },
  ...over,
});

const perm = (p: Obj, r = req()) => compilePermission(p, 'p')(r);
const id = (p: Obj, r = req()) => compilePrincipal(p, 'p')(r);

describe('RBAC permissions', () => {
  it('header, url_path (no query), ports, destination ip, SNI, and/or/not', () => {
    assert.ok(perm({ header: { name: ':method', string_match: { exact: 'GET' } } }));
    assert.ok(
      perm({ header: { name: ':authority', string_match: { prefix: 'svc', ignore_case: true } } }),
    );
    assert.ok(perm({ url_path: { path: { exact: '/api/v1' } } }));
    assert.ok(!perm({ url_path: { path: { exact: '/api/v1?a=1' } } }));
    assert.ok(perm({ destination_port: 9080 }));
    assert.ok(!perm({ destination_port: 9081 }));
    assert.ok(perm({ destination_ip: { address_prefix: '127.0.0.0', prefix_len: 8 } }));
    assert.ok(perm({ requested_server_name: { suffix: '.svc' } }));
    assert.ok(perm({ and_rules: { rules: [{ any: true }, { destination_port: 9080 }] } }));
    assert.ok(!perm({ and_rules: { rules: [{ any: true }, { destination_port: 1 }] } }));
    assert.ok(perm({ or_rules: { rules: [{ destination_port: 1 }, { destination_port: 9080 }] } }));
    assert.ok(perm({ not_rule: { destination_port: 1 } }));
  });

  it('HTTP rules never match a TCP connection', () => {
    const tcp = req({ view: undefined, requestAuth: undefined });
    assert.ok(!perm({ header: { name: ':method', present_match: true } }, tcp));
    assert.ok(!perm({ url_path: { path: { prefix: '/' } } }, tcp));
  });

  it('rejects unknown rules naming the field', () => {
    assert.throws(
      () => compilePermission({ bogus: 1 }, 'permissions[0]'),
      /permissions\[0\]\.bogus/,
    );
    assert.throws(() => compilePermission({ any: true, destination_port: 1 }, 'p'), /exactly one/);
  });
});

describe('RBAC principals', () => {
  it('authenticated (mTLS peer), direct and remote IPs (IPv4-mapped too)', () => {
    assert.ok(
      id({ authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/shop/sa/web' } } }),
    );
    assert.ok(
      id({ authenticated: { principal_name: { safe_regex: { regex: '.*/ns/shop/.*' } } } }),
    );
    assert.ok(!id({ authenticated: {} }, req({ peerPrincipal: undefined })));
    assert.ok(id({ direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } }));
    assert.ok(!id({ remote_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } }));
    assert.ok(id({ remote_ip: { address_prefix: '1.2.3.4', prefix_len: 32 } }));
    assert.ok(id({ not_id: { any: true } }) === false);
  });

  it('an IPv4-mapped IPv6 range keeps its family; bad prefix lengths are config errors', () => {
    const mapped = { direct_remote_ip: { address_prefix: '::ffff:10.0.0.0', prefix_len: 104 } };
    assert.ok(id(mapped));
    assert.ok(id(mapped, req({ directRemoteIp: '10.9.9.9' })));
    assert.ok(!id(mapped, req({ directRemoteIp: '11.0.0.1' })));
    assert.ok(id({ direct_remote_ip: { address_prefix: '::', prefix_len: 0 } }));
    assert.throws(
      () => id({ remote_ip: { address_prefix: '10.0.0.0', prefix_len: 33 } }),
      /remote_ip\.prefix_len/,
    );
  });

  it('jwt_authn payload metadata as Istio matches it: strings, lists (or_match), nested claims', () => {
    const md = (path: string[], value: Obj) => ({
      metadata: {
        filter: 'envoy.filters.http.jwt_authn',
        path: ['payload', ...path].map((key) => ({ key })),
        value,
      },
    });
    const s = (exact: string) => ({ string_match: { exact } });
    // Istio's MetadataListValueMatcher: a list containing the value, or the value itself.
    const either = (exact: string) => ({
      or_match: {
        value_matchers: [
          { list_match: { one_of: { or_match: { value_matchers: [s(exact)] } } } },
          s(exact),
        ],
      },
    });
    assert.ok(id(md(['iss'], s('iss'))));
    assert.ok(id(md(['sub'], s('alice'))));
    assert.ok(id(md(['groups'], either('admin'))));
    assert.ok(id(md(['role'], either('ops'))));
    assert.ok(id(md(['n', 'k'], either('v'))));
    assert.ok(!id(md(['groups'], either('dev'))));
    assert.ok(!id(md(['role'], { list_match: { one_of: s('ops') } })), 'list_match needs a list');
    assert.ok(!id(md(['iss'], s('iss')), req({ requestAuth: undefined })));
  });

  it('istio_authn metadata (older Istio): principal, audiences, presenter, claims', () => {
    const md = (path: string[], value: Obj) => ({
      metadata: { filter: 'istio_authn', path: path.map((key) => ({ key })), value },
    });
    const s = (exact: string) => ({ string_match: { exact } });
    const l = (exact: string) => ({ list_match: { one_of: s(exact) } });
    assert.ok(id(md(['request.auth.principal'], s('iss/alice'))));
    assert.ok(id(md(['request.auth.audiences'], l('aud'))));
    assert.ok(id(md(['request.auth.presenter'], s('pres'))));
    assert.ok(id(md(['request.auth.claims', 'groups'], l('admin'))));
  });
});

describe('RBAC engines', () => {
  const rbac = (action: string, policies: Obj) => compileRbac({ action, policies }, 'rules');
  const p = (port: number) => ({
    permissions: [{ destination_port: port }],
    principals: [{ any: true }],
  });

  it('ALLOW: a match allows; no policy allows nothing. DENY: a match denies. LOG allows', () => {
    assert.deepEqual(evaluate(rbac('ALLOW', { a: p(9080) }), req()), {
      allowed: true,
      policy: 'a',
    });
    assert.deepEqual(evaluate(rbac('ALLOW', {}), req()), { allowed: false });
    assert.deepEqual(evaluate(rbac('DENY', { z: p(9080), b: p(9080) }), req()), {
      allowed: false,
      policy: 'b',
    });
    assert.deepEqual(evaluate(rbac('DENY', { a: p(1) }), req()), { allowed: true });
    assert.equal(evaluate(rbac('LOG', { a: p(9080) }), req()).allowed, true);
  });
});

describe('x-forwarded-for', () => {
  it("Envoy's trusted hops from the right, else the connection's address", () => {
    assert.equal(xffRemote(undefined, '10.0.0.1', 0), '10.0.0.1');
    assert.equal(xffRemote('1.1.1.1, 2.2.2.2', '10.0.0.1', 0), '2.2.2.2');
    assert.equal(xffRemote('1.1.1.1, 2.2.2.2', '10.0.0.1', 1), '1.1.1.1');
    assert.equal(xffRemote('1.1.1.1', '10.0.0.1', 3), '10.0.0.1');
  });
});
