import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { problems, withSpec, yaml } from '../testing.js';

const tel = (body: string): string =>
  withSpec('telemetry.istio.io/v1', 'Telemetry', 'mesh-default', body);
const P = 'test.yaml:';
const T = 'Telemetry default/mesh-default:';

describe('Telemetry', () => {
  it('accepts a valid one', () => {
    const body = yaml`
      tracing:
      - providers: [{name: zipkin}]
        randomSamplingPercentage: 10.5
        customTags:
          env: {literal: {value: prod}}
      metrics:
      - providers: [{name: prometheus}]
        reportingInterval: 15s
      accessLogging:
      - providers: [{name: envoy}]
    `;
    assert.deepEqual(problems(tel(body)), []);
  });

  const cases: [string, string, string[]][] = [
    [
      'sampling percentage out of range (schema)',
      yaml`
        tracing:
        - randomSamplingPercentage: 120
      `,
      [`${P}7: ${T} spec.tracing[0].randomSamplingPercentage: must be at most 100 (got 120)`],
    ],
    [
      'reporting interval',
      yaml`
        metrics:
        - reportingInterval: soon
      `,
      [
        `${P}7: ${T} spec.metrics[0].reportingInterval: invalid duration "soon": expected a number (use Go's format, e.g. "1.5s", "100ms", "1h2m")`,
      ],
    ],
    [
      'UPSERT without a value',
      yaml`
        metrics:
        - overrides:
          - tagOverrides:
              request_host: {operation: UPSERT}
      `,
      [
        `${P}9: ${T} spec.metrics[0].overrides[0].tagOverrides.request_host: operation UPSERT needs a value`,
      ],
    ],
    [
      'provider without a name (schema)',
      yaml`
        accessLogging:
        - providers: [{}]
      `,
      [`${P}7: ${T} spec.accessLogging[0].providers[0].name: required field is missing`],
    ],
    [
      'more than one tracing configuration',
      yaml`
        tracing:
        - providers: [{name: zipkin}]
        - providers: [{name: otel}]
      `,
      [`${P}6: ${T} spec.tracing: warning: only one tracing configuration is supported`],
    ],
  ];
  for (const [title, body, expected] of cases) {
    it(title, () => assert.deepEqual(problems(tel(body)), expected));
  }
});
