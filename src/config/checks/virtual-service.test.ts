import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse, problems, withSpec, yaml } from '../testing.js';

/** A VirtualService named reviews whose spec is `body` (its first line is line 6 of the file). */
const vs = (body: string): string =>
  withSpec('networking.istio.io/v1', 'VirtualService', 'reviews', body);

const P = 'test.yaml:';
const VS = 'VirtualService default/reviews:';

describe('VirtualService', () => {
  it('accepts a valid one and keeps it', () => {
    const r = parse(
      vs(yaml`
        hosts: [reviews]
        http:
        - match:
          - headers: {end-user: {exact: jason}}
          route:
          - destination: {host: reviews, subset: v2}
        - route:
          - destination: {host: reviews, subset: v1}
            weight: 90
          - destination: {host: reviews, subset: v3}
            weight: 10
          timeout: 1.5s
      `),
    );
    assert.deepEqual(r.problems, []);
    assert.equal(r.resources.length, 1);
    assert.equal(r.resources[0]?.kind, 'VirtualService');
  });

  const cases: [string, string, string[]][] = [
    [
      'unknown field, with the nearest known key',
      yaml`
        hosts: [reviews]
        http:
        - timout: 5s
          route:
          - destination: {host: reviews}
      `,
      [`${P}8: ${VS} spec.http[0].timout: unknown field (did you mean "timeout"?)`],
    ],
    [
      'weight out of range',
      yaml`
        hosts: [reviews]
        tcp:
        - route:
          - destination: {host: reviews}
            weight: 150
      `,
      [`${P}10: ${VS} spec.tcp[0].route[0].weight: weight must be between 0 and 100 (got 150)`],
    ],
    [
      'no hosts: a delegate, whose routes cannot delegate again, without gateways or tcp',
      yaml`
        gateways: [gw]
        http:
        - delegate: {name: other}
        tcp:
        - route:
          - destination: {host: reviews}
      `,
      [
        `${P}6: ${VS} spec.gateways: a delegate VirtualService (no hosts) must have no gateways`,
        `${P}8: ${VS} spec.http[0].delegate: a delegate route cannot delegate again`,
        `${P}9: ${VS} spec.tcp: a delegate VirtualService (no hosts) must have no tcp routes`,
      ],
    ],
    [
      'no routes at all',
      yaml`
        hosts: [reviews]
      `,
      [`${P}5: ${VS} spec: at least one http, tcp or tls route is required`],
    ],
    [
      'host with a port',
      yaml`
        hosts:
        - reviews:9080
        http:
        - route:
          - destination: {host: reviews}
      `,
      [`${P}7: ${VS} spec.hosts[0]: "reviews:9080" must not include a port`],
    ],
    [
      'invalid host name',
      yaml`
        hosts: [rev_iews.default]
        http:
        - route:
          - destination: {host: reviews}
      `,
      [
        `${P}6: ${VS} spec.hosts[0]: "rev_iews.default" is not a valid host (label "rev_iews" is invalid; a wildcard must be the first label, as in *.example.com)`,
      ],
    ],
    [
      'host "*" bound to the mesh',
      yaml`
        hosts: ["*"]
        http:
        - route:
          - destination: {host: reviews}
      `,
      [
        `${P}6: ${VS} spec.hosts[0]: host "*" is only allowed for VirtualServices bound to gateways (not mesh)`,
      ],
    ],
    [
      'duplicate hosts',
      yaml`
        hosts: ["*.example.com", api.example.com]
        gateways: [gw]
        http:
        - route:
          - destination: {host: reviews}
      `,
      [`${P}6: ${VS} spec.hosts[1]: duplicate host: "api.example.com" overlaps "*.example.com"`],
    ],
    [
      'gateway reference',
      yaml`
        hosts: [reviews]
        gateways: [Bad_NS/gw]
        http:
        - route:
          - destination: {host: reviews}
      `,
      [
        `${P}7: ${VS} spec.gateways[0]: invalid gateway reference "Bad_NS/gw": "Bad_NS" is not a valid namespace`,
      ],
    ],
    [
      'tcp route without destinations',
      yaml`
        hosts: [reviews]
        tcp:
        - match:
          - port: 27017
      `,
      [`${P}8: ${VS} spec.tcp[0].route: at least one route destination is required`],
    ],
    [
      'tls route with an SNI host outside the hosts',
      yaml`
        hosts: [a.example.com]
        tls:
        - match:
          - sniHosts: [b.example.com]
          route:
          - destination: {host: a.example.com}
      `,
      [
        `${P}9: ${VS} spec.tls[0].match[0].sniHosts[0]: SNI host "b.example.com" is not within the VirtualService's hosts (a.example.com)`,
      ],
    ],
    [
      'bad exportTo',
      yaml`
        hosts: [reviews]
        exportTo: [".", "."]
        http:
        - route:
          - destination: {host: reviews}
      `,
      [`${P}7: ${VS} spec.exportTo[1]: duplicate exportTo entry "."`],
    ],
    [
      'schema: wrong type',
      yaml`
        hosts: reviews
        http:
        - route:
          - destination: {host: reviews}
      `,
      [`${P}6: ${VS} spec.hosts: must be a list (got "reviews")`],
    ],
    [
      'schema: enum',
      yaml`
        hosts: [reviews]
        http:
        - route:
          - destination: {host: reviews}
          corsPolicy: {unmatchedPreflights: DROP}
      `,
      [
        `${P}10: ${VS} spec.http[0].corsPolicy.unmatchedPreflights: must be one of UNSPECIFIED, FORWARD, IGNORE (got "DROP")`,
      ],
    ],
  ];

  for (const [title, body, expected] of cases) {
    it(title, () => {
      assert.deepEqual(problems(vs(body)), expected);
    });
  }

  it('keeps no resource when there are errors, but keeps one with warnings only', () => {
    const bad = parse(vs('hosts: [reviews]'));
    assert.equal(bad.resources.length, 0);
    const warned = parse(
      vs(yaml`
        hosts: [reviews]
        http:
        - route:
          - destination: {host: reviews}
          mirrorPercent: 10
          mirror: {host: shadow}
      `),
    );
    assert.deepEqual(
      warned.problems.map((p) => p.severity),
      ['warning'],
    );
    assert.equal(warned.resources.length, 1);
  });
});
