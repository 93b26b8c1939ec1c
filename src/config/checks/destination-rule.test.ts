import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse, problems, withSpec, yaml } from '../testing.js';

const dr = (body: string): string =>
  withSpec('networking.istio.io/v1beta1', 'DestinationRule', 'reviews', body);
const P = 'test.yaml:';
const DR = 'DestinationRule default/reviews:';

describe('DestinationRule', () => {
  it('accepts a valid one (v1beta1 is the same kind)', () => {
    const r = parse(
      dr(yaml`
        host: reviews
        trafficPolicy:
          connectionPool:
            tcp: {maxConnections: 100, connectTimeout: 30ms, idleTimeout: 0s}
            http: {http1MaxPendingRequests: 10, idleTimeout: 1h2m3.5s}
          outlierDetection: {consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 50}
          loadBalancer: {simple: ROUND_ROBIN}
        subsets:
        - name: v1
          labels: {version: v1}
        - name: v2
          labels: {version: v2}
          trafficPolicy:
            tls: {mode: ISTIO_MUTUAL}
      `),
    );
    assert.deepEqual(r.problems, []);
    assert.equal(r.resources[0]?.kind, 'DestinationRule');
    assert.equal(r.resources[0]?.apiVersion, 'networking.istio.io/v1beta1');
  });

  const cases: [string, string, string[]][] = [
    [
      'host is required',
      yaml`subsets: [{name: v1}]`,
      [`${P}5: ${DR} spec.host: required field is missing`],
    ],
    [
      'invalid host',
      yaml`host: "reviews..default"`,
      [`${P}6: ${DR} spec.host: "reviews..default" is not a valid host (label "" is invalid)`],
    ],
    [
      'duplicate and invalid subset names',
      yaml`
        host: reviews
        subsets:
        - name: v1
        - name: v1
        - name: V_2
      `,
      [
        `${P}9: ${DR} spec.subsets[1].name: duplicate subset name "v1"`,
        `${P}10: ${DR} spec.subsets[2].name: invalid subset name "V_2": use a DNS label (lower-case letters, digits, '-')`,
      ],
    ],
    [
      'bad subset labels',
      yaml`
        host: reviews
        subsets:
        - name: v1
          labels: {"version/": v1}
      `,
      [
        `${P}9: ${DR} spec.subsets[0].labels["version/"]: label invalid key "version/": the name must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
      ],
    ],
    [
      'connection pool durations',
      yaml`
        host: reviews
        trafficPolicy:
          connectionPool:
            tcp: {connectTimeout: 0s, maxConnectionDuration: 1.0001s}
      `,
      [
        `${P}9: ${DR} spec.trafficPolicy.connectionPool.tcp.connectTimeout: duration must be at least 1ms (got "0s")`,
        `${P}9: ${DR} spec.trafficPolicy.connectionPool.tcp.maxConnectionDuration: duration must be a whole number of milliseconds (got "1.0001s")`,
      ],
    ],
    [
      'schema: a duration is a string',
      yaml`
        host: reviews
        trafficPolicy:
          outlierDetection:
            interval: 10
            baseEjectionTime: 3 m
      `,
      [`${P}9: ${DR} spec.trafficPolicy.outlierDetection.interval: must be a string (got 10)`],
    ],
    [
      'outlier detection: bad ejection time and percent',
      yaml`
        host: reviews
        trafficPolicy:
          outlierDetection:
            baseEjectionTime: 3 m
            maxEjectionPercent: 101
      `,
      [
        `${P}9: ${DR} spec.trafficPolicy.outlierDetection.baseEjectionTime: invalid duration "3 m": unknown unit " m" (use Go's format, e.g. "1.5s", "100ms", "1h2m")`,
        `${P}10: ${DR} spec.trafficPolicy.outlierDetection.maxEjectionPercent: percentage must be between 0 and 100 (got 101)`,
      ],
    ],
    [
      'empty traffic policy',
      yaml`
        host: reviews
        trafficPolicy: {}
      `,
      [`${P}7: ${DR} spec.trafficPolicy: trafficPolicy must set at least one field`],
    ],
    [
      'port-level settings without a port',
      yaml`
        host: reviews
        trafficPolicy:
          portLevelSettings:
          - loadBalancer: {simple: RANDOM}
      `,
      [`${P}9: ${DR} spec.trafficPolicy.portLevelSettings[0].port: port is required`],
    ],
    [
      'two load balancers (schema oneOf)',
      yaml`
        host: reviews
        trafficPolicy:
          loadBalancer:
            simple: RANDOM
            consistentHash: {useSourceIp: true}
      `,
      [
        `${P}8: ${DR} spec.trafficPolicy.loadBalancer: only one of consistentHash, simple may be set (found consistentHash and simple)`,
      ],
    ],
    [
      'MUTUAL TLS without a client certificate',
      yaml`
        host: reviews
        trafficPolicy:
          tls: {mode: MUTUAL, privateKey: /etc/key.pem}
      `,
      [
        `${P}8: ${DR} spec.trafficPolicy.tls.clientCertificate: MUTUAL TLS needs clientCertificate (or credentialName)`,
      ],
    ],
    [
      'maglev table size',
      yaml`
        host: reviews
        trafficPolicy:
          loadBalancer:
            consistentHash:
              httpHeaderName: x-user
              maglev: {tableSize: 1000}
      `,
      [
        `${P}11: ${DR} spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize: maglev tableSize must be a prime number (got 1000)`,
      ],
    ],
    [
      'locality weights',
      yaml`
        host: reviews
        trafficPolicy:
          outlierDetection: {consecutive5xxErrors: 1}
          loadBalancer:
            localityLbSetting:
              distribute:
              - from: us-west/zone1/*
                to: {"us-west/zone1/*": 80, "us-west/zone2/*": 10}
      `,
      [
        `${P}13: ${DR} spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to: locality weights must add up to 100 (they add up to 90)`,
      ],
    ],
    [
      'workload selector exported beyond its namespace',
      yaml`
        host: reviews
        workloadSelector:
          matchLabels: {app: reviews}
        exportTo: ["*"]
        trafficPolicy:
          tls: {mode: ISTIO_MUTUAL}
      `,
      [
        `${P}9: ${DR} spec.exportTo: a DestinationRule with a workloadSelector can only be exported to its own namespace`,
      ],
    ],
  ];

  for (const [title, body, expected] of cases) {
    it(title, () => {
      assert.deepEqual(problems(dr(body)), expected);
    });
  }
});
