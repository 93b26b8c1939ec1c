import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { problems, withSpec, yaml } from '../testing.js';

const sc = (body: string): string => withSpec('networking.istio.io/v1', 'Sidecar', 'default', body);
const P = 'test.yaml:';
const SC = 'Sidecar default/default:';

describe('Sidecar', () => {
  it('accepts a valid one', () => {
    assert.deepEqual(
      problems(
        sc(yaml`
          workloadSelector: {labels: {app: reviews}}
          ingress:
          - port: {number: 9080, protocol: HTTP, name: http}
            defaultEndpoint: 127.0.0.1:8080
          egress:
          - port: {number: 9080, protocol: HTTP, name: http}
            hosts: ["./ratings.default.svc.cluster.local"]
          - hosts: ["istio-system/*", "*/*.example.com", "~/*"]
        `),
      ),
      [],
    );
  });

  const cases: [string, string, string[]][] = [
    [
      'empty',
      yaml`workloadSelector: {labels: {app: a}}`,
      [
        `${P}5: ${SC} spec: a Sidecar must set ingress, egress, outboundTrafficPolicy or inboundConnectionPool`,
      ],
    ],
    [
      'egress hosts need namespace/host',
      yaml`
        egress:
        - hosts: [ratings.default.svc.cluster.local, "Bad_NS/*", "./ratings"]
      `,
      [
        `${P}7: ${SC} spec.egress[0].hosts[0]: egress host "ratings.default.svc.cluster.local" must be of the form namespace/host (e.g. "*/ratings.default.svc.cluster.local" or "./ratings.default.svc.cluster.local")`,
        `${P}7: ${SC} spec.egress[0].hosts[1]: invalid namespace "Bad_NS" in egress host "Bad_NS/*"`,
        `${P}7: ${SC} spec.egress[0].hosts[2]: short host name "ratings" is not allowed in egress hosts (use a fully qualified name)`,
      ],
    ],
    [
      'the catch-all egress listener must be last',
      yaml`
        egress:
        - hosts: ["*/*"]
        - port: {number: 80, protocol: HTTP, name: http}
          hosts: ["*/*"]
      `,
      [`${P}7: ${SC} spec.egress[0]: the egress listener without a port must be the last one`],
    ],
    [
      'ingress needs a port',
      yaml`
        ingress:
        - defaultEndpoint: 127.0.0.1:8080
      `,
      [`${P}7: ${SC} spec.ingress[0].port: required field is missing`],
    ],
    [
      'bad default endpoint',
      yaml`
        ingress:
        - port: {number: 9080, protocol: HTTP, name: http}
          defaultEndpoint: 10.0.0.1:8080
      `,
      [
        `${P}8: ${SC} spec.ingress[0].defaultEndpoint: defaultEndpoint must be 127.0.0.1:<port>, 0.0.0.0:<port>, [::1]:<port>, [::]:<port> or unix://<path>`,
      ],
    ],
    [
      'selector wildcards',
      yaml`
        workloadSelector: {labels: {app: "*"}}
        egress:
        - hosts: ["*/*"]
      `,
      [`${P}6: ${SC} spec.workloadSelector.labels.app: wildcards are not supported in selectors`],
    ],
  ];
  for (const [title, body, expected] of cases) {
    it(title, () => assert.deepEqual(problems(sc(body)), expected));
  }
});
