// AuthorizationPolicy checks that skiff adds to Istio's: paths that can never match, `*` in the
// middle of a value (a literal there), experimental conditions (never matching), path templates
// (Istio's CheckValidPathTemplate), and that the kind is applied (no "not applied" warning).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { problems, withSpec, yaml } from '../testing.js';

const authz = (body: string): string =>
  withSpec('security.istio.io/v1', 'AuthorizationPolicy', 'policy', body);
const AP = 'test.yaml:7: AuthorizationPolicy default/policy:';

describe('AuthorizationPolicy checks', () => {
  it('is applied: a valid policy has no problem at all', () => {
    assert.deepEqual(
      problems(
        authz(yaml`
      rules:
      - to: [{operation: {paths: ["/a", "*.json", "*"]}}]
    `),
      ),
      [],
    );
  });

  it('paths must start with "/" or "*"', () => {
    assert.deepEqual(
      problems(
        authz(yaml`
      rules:
      - to: [{operation: {notPaths: [admin]}}]
    `),
      ),
      [
        `${AP} spec.rules[0].to[0].operation.notPaths[0]: path "admin" must start with "/" or "*" (it could never match)`,
      ],
    );
  });

  it('warns on "*" inside a value and on experimental conditions; checks path templates', () => {
    assert.deepEqual(
      problems(
        authz(yaml`
      rules:
      - to: [{operation: {hosts: ["a*b.com"]}}]
    `),
      ),
      [
        `${AP} spec.rules[0].to[0].operation.hosts[0]: warning: "a*b.com": "*" only works as a whole value, a prefix or a suffix; here it is a literal character`,
      ],
    );
    assert.deepEqual(
      problems(
        authz(yaml`
      rules:
      - to: [{operation: {paths: ["/a/{*}/b"]}}]
    `),
      ),
      [],
    );
    assert.deepEqual(
      problems(
        authz(yaml`
      rules:
      - to: [{operation: {paths: ["/a/{**}/{*}", "/a/b{*}", "/a//{*}"]}}]
    `),
      ),
      [
        `${AP} spec.rules[0].to[0].operation.paths[0]: "/a/{**}/{*}": {**} must be the last operator of a path template`,
        `${AP} spec.rules[0].to[0].operation.paths[1]: "/a/b{*}": "{" and "}" only form the templates {*} and {**}, each a whole segment`,
        `${AP} spec.rules[0].to[0].operation.paths[2]: "/a//{*}": segment "" is not a valid path template literal`,
      ],
    );
    const p = problems(
      authz(yaml`
      rules:
      - when:
        - key: experimental.envoy.filters.a.b[c]
          values: [x]
    `),
    );
    assert.equal(p.length, 1);
    assert.match(p[0] ?? '', /when\[0\]\.key: .*values never match, its notValues always do/);
  });
});
