// The HTTP RBAC filter: enforced rules answer 403 with Envoy's body and response code details;
// shadow rules only record their result (dynamic metadata, stats); LOG never blocks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dynamicMetadata } from '../../../authz/metadata.js';
import { routedStream } from '../testing.js';
import type { HttpRbacFilter } from './filter.js';
import { makeRbacFilter } from './filter.js';

type Obj = Record<string, unknown>;

const rbac = (typed: Obj) =>
  makeRbacFilter(typed, { name: 'envoy.filters.http.rbac', statPrefix: 'in' })
    .filter as HttpRbacFilter;
const onPath = (prefix: string) => ({
  permissions: [{ url_path: { path: { prefix } } }],
  principals: [{ any: true }],
});
const stream = (path: string) =>
  routedStream([{ match: { prefix: '/' }, route: { cluster: 'c' } }], { path });

describe('HTTP RBAC filter', () => {
  it('DENY: a match answers 403 "RBAC: access denied" and names the policy', () => {
    const f = rbac({
      rules: { action: 'DENY', policies: { 'ns[a]-policy[p]-rule[0]': onPath('/admin') } },
    });
    const s = stream('/admin/x');
    assert.deepEqual(f.onRequest(s), {
      status: 403,
      body: 'RBAC: access denied',
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(
      s.responseCodeDetails,
      'rbac_access_denied_matched_policy[ns[a]-policy[p]-rule[0]]',
    );
    assert.equal(f.onRequest(stream('/public')), undefined);
    assert.equal(f.stats.get('denied'), 1);
    assert.equal(f.stats.get('allowed'), 1);
  });

  it('ALLOW: no match answers 403 with policy [none]; ALLOW with no policies allows nothing', () => {
    const s = stream('/x');
    assert.equal(
      rbac({ rules: { action: 'ALLOW', policies: { p: onPath('/ok') } } }).onRequest(s)?.status,
      403,
    );
    assert.equal(s.responseCodeDetails, 'rbac_access_denied_matched_policy[none]');
    assert.equal(rbac({ rules: {} }).onRequest(stream('/'))?.status, 403);
  });

  it('LOG and shadow rules never block; shadow results land in dynamic metadata', () => {
    assert.equal(
      rbac({ rules: { action: 'LOG', policies: { p: onPath('/') } } }).onRequest(stream('/')),
      undefined,
    );
    const f = rbac({
      shadow_rules: { action: 'DENY', policies: { 'istio-ext-authz-x': onPath('/ext') } },
      shadow_rules_stat_prefix: 'istio_ext_authz_',
    });
    const s = stream('/ext/1');
    assert.equal(f.onRequest(s), undefined);
    assert.deepEqual(dynamicMetadata(s, 'envoy.filters.http.rbac'), {
      istio_ext_authz_shadow_effective_policy_id: 'istio-ext-authz-x',
      istio_ext_authz_shadow_engine_result: 'denied',
    });
  });

  it('refuses config it cannot run, naming the field', () => {
    assert.throws(
      () => rbac({ rules: { action: 'DENY', policies: { p: { permissions: [{ nope: 1 }] } } } }),
      /permissions\[0\]\.nope/,
    );
    assert.throws(() => rbac({ matcher: {} }), /matcher/);
  });
});
