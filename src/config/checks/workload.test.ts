import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isKind } from '../kinds.js';
import { parse, problems, withSpec, yaml } from '../testing.js';

const wl = (body: string): string => withSpec('skiff.dev/v1alpha1', 'Workload', 'reviews-v2', body);
const P = 'test.yaml:';
const W = 'Workload default/reviews-v2:';

describe('Workload', () => {
  it('accepts a Workload and applies defaults', () => {
    const r = parse(
      wl(
        'command: [node, reviews.js]\nenv: {STAR_COLOR: black}\nports: [{name: http, containerPort: 9080}]',
      ),
    );
    assert.deepEqual(r.problems, []);
    const res = r.resources[0];
    assert.ok(res && isKind(res, 'Workload'));
    assert.deepEqual(res.spec, {
      serviceAccount: 'default',
      command: ['node', 'reviews.js'],
      env: { STAR_COLOR: 'black' },
      replicas: 1,
      ports: [{ name: 'http', containerPort: 9080 }],
    });
  });

  const cases: [string, string, string[]][] = [
    [
      'command is required',
      yaml`replicas: 2`,
      [`${P}5: ${W} spec.command: required field is missing`],
    ],
    [
      'command must not be empty',
      yaml`command: []`,
      [`${P}6: ${W} spec.command: command must not be empty (e.g. [node, app.js])`],
    ],
    [
      'env values are strings',
      yaml`
        command: [node, a.js]
        env: {PORT: 9080}
      `,
      [`${P}7: ${W} spec.env.PORT: must be a string (got 9080)`],
    ],
    [
      'replicas',
      yaml`
        command: [node, a.js]
        replicas: -1
      `,
      [`${P}7: ${W} spec.replicas: replicas must not be negative (got -1)`],
    ],
    [
      'ports: range, duplicates, names',
      yaml`
        command: [node, a.js]
        ports:
        - {name: http, containerPort: 9080}
        - {name: http, containerPort: 9080}
        - {name: Admin, containerPort: 70000}
      `,
      [
        `${P}9: ${W} spec.ports[1].containerPort: duplicate containerPort 9080`,
        `${P}9: ${W} spec.ports[1].name: duplicate port name "http"`,
        `${P}10: ${W} spec.ports[2].containerPort: port number 70000 must be in the range 1..65535`,
        `${P}10: ${W} spec.ports[2].name: invalid port name "Admin": use at most 63 lower-case letters, digits and '-'`,
      ],
    ],
    [
      'containerPort is required',
      yaml`
        command: [node, a.js]
        ports: [{name: http}]
      `,
      [`${P}7: ${W} spec.ports[0].containerPort: required field is missing`],
    ],
    [
      'unknown field',
      yaml`
        command: [node, a.js]
        replica: 2
      `,
      [`${P}7: ${W} spec.replica: unknown field (did you mean "replicas"?)`],
    ],
    [
      'service account name',
      yaml`
        command: [node, a.js]
        serviceAccount: Reviews
      `,
      [
        `${P}7: ${W} spec.serviceAccount: invalid serviceAccount: "Reviews" is not a valid name (DNS-1123 subdomain): use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`,
      ],
    ],
  ];
  for (const [title, body, expected] of cases) {
    it(title, () => assert.deepEqual(problems(wl(body)), expected));
  }

  it('is an error under another skiff kind or version', () => {
    assert.deepEqual(problems(withSpec('skiff.dev/v1', 'Workload', 'w', 'command: [a]')), [
      `${P}2: Workload default/w: kind: unknown skiff kind skiff.dev/v1 Workload (skiff defines skiff.dev/v1alpha1 Workload)`,
    ]);
  });
});
