// AuthorizationPolicy rules as the proxy enforces them: generated policies compiled by the
// proxy's RBAC matcher and judged against requests (trust domains, path templates, experimental
// metadata conditions, unknown `when` keys).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuthorizationPolicySpec } from '../../config/kinds.js';
import type { AuthzRequest } from '../../proxy/authz/matcher.js';
import { compileRbac, evaluate } from '../../proxy/authz/matcher.js';
import type { AuthorizationPolicyResource } from '../model/authorization.js';
import { pathTemplateRegex } from './rbac-matchers.js';
import { rbacPolicies } from './rbac-rules.js';

type Rule = NonNullable<AuthorizationPolicySpec['rules']>[number];

const policy = (action: string, rules: Rule[]): AuthorizationPolicyResource =>
  ({
    kind: 'AuthorizationPolicy',
    metadata: { name: 'p', namespace: 'shop' },
    spec: { action, rules },
  }) as unknown as AuthorizationPolicyResource;

const req = (over: { path?: string; peer?: string | undefined } = {}): AuthzRequest => ({
  directRemoteIp: '10.0.0.1',
  remoteIp: '10.0.0.1',
  destinationIp: '10.0.0.2',
  destinationPort: 9080,
  peerPrincipal: 'peer' in over ? over.peer : 'spiffe://cluster.local/ns/shop/sa/web',
  sni: '',
  view: {
    method: 'GET',
    scheme: 'http',
    authority: 'svc',
    path: over.path ?? '/',
    query: '',
    headers: {},
  },
  requestAuth: undefined,
});

/** Whether the policy's filter (ALLOW or DENY) lets `r` through. */
function allowed(action: 'ALLOW' | 'DENY', rules: Rule[], r: AuthzRequest): boolean {
  const policies = rbacPolicies([policy(action, rules)], { tcp: false });
  return evaluate(compileRbac({ action, policies }, 'rules'), r).allowed;
}

describe('AuthorizationPolicy rules as enforced', () => {
  it('source.trustDomain is matched, not dropped (an ALLOW on another domain allows nothing)', () => {
    const when = (values: string[]): Rule[] => [{ when: [{ key: 'source.trustDomain', values }] }];
    assert.equal(allowed('ALLOW', when(['other.td']), req()), false);
    assert.equal(allowed('ALLOW', when(['cluster.local']), req()), true);
    assert.equal(allowed('ALLOW', when(['cluster.*']), req()), true);
    assert.equal(allowed('ALLOW', when(['*']), req()), true);
    assert.equal(allowed('ALLOW', when(['*']), req({ peer: undefined })), false);
    assert.equal(allowed('ALLOW', when(['cluster']), req()), false, 'no partial domain');
  });

  it('path templates: a DENY on /admin/{**} denies below /admin, {*} is one segment', () => {
    const deny = (paths: string[], path: string) =>
      allowed('DENY', [{ to: [{ operation: { paths } }] }], req({ path }));
    assert.equal(deny(['/admin/{**}'], '/admin/users/1'), false);
    assert.equal(deny(['/admin/{**}'], '/admin/'), false);
    assert.equal(deny(['/admin/{**}'], '/public'), true);
    assert.equal(deny(['/api/{*}/secret'], '/api/v1/secret'), false);
    assert.equal(deny(['/api/{*}/secret'], '/api/v1/v2/secret'), true);
    assert.equal(deny(['/files/{**}.pdf'], '/files/a/b.pdf'), false);
    assert.equal(pathTemplateRegex('/a.b/{*}'), "/a\\.b/[a-zA-Z0-9._~%!$&'()+,;:@-]+");
  });

  it('experimental.envoy.filters conditions: metadata skiff never sets, so values never match', () => {
    const rules = (k: 'values' | 'notValues'): Rule[] => [
      { when: [{ key: 'experimental.envoy.filters.network.mysql_proxy[db.table]', [k]: ['[x]'] }] },
    ];
    assert.equal(allowed('ALLOW', rules('values'), req()), false);
    assert.equal(allowed('ALLOW', rules('notValues'), req()), true);
  });

  it('a rule with an unknown `when` key is skipped (Istio: model.New fails)', () => {
    const rules: Rule[] = [{ when: [{ key: 'source.bogus', values: ['x'] }] }];
    assert.equal(allowed('ALLOW', rules, req()), false);
    assert.deepEqual(rbacPolicies([policy('DENY', rules)], { tcp: false }), {});
  });
});
