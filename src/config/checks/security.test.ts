import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { problems, withSpec, yaml } from '../testing.js';

const authz = (body: string): string =>
  withSpec('security.istio.io/v1', 'AuthorizationPolicy', 'policy', body);
const peer = (body: string): string =>
  withSpec('security.istio.io/v1beta1', 'PeerAuthentication', 'mtls', body);
const reqn = (body: string): string =>
  withSpec('security.istio.io/v1', 'RequestAuthentication', 'jwt', body);
const P = 'test.yaml:';
const AP = 'AuthorizationPolicy default/policy:';
const PA = 'PeerAuthentication default/mtls:';
const RA = 'RequestAuthentication default/jwt:';

describe('AuthorizationPolicy', () => {
  it('accepts a valid one', () => {
    const body = yaml`
      selector: {matchLabels: {app: httpbin}}
      action: ALLOW
      rules:
      - from:
        - source: {principals: ["cluster.local/ns/default/sa/curl"], ipBlocks: [10.0.0.0/8]}
        to:
        - operation: {methods: [GET], paths: ["/info*"], ports: ["8000"]}
        when:
        - key: request.auth.claims[iss]
          values: ["testing@secure.istio.io"]
        - key: request.headers[x-token]
          notValues: ["guest"]
    `;
    assert.deepEqual(problems(authz(body)), []);
  });

  const cases: [string, string, string[]][] = [
    [
      'CUSTOM needs a provider',
      yaml`
        action: CUSTOM
        rules: [{}]
      `,
      [`${P}5: ${AP} spec.provider.name: CUSTOM action needs provider.name`],
    ],
    [
      'provider without CUSTOM',
      yaml`
        action: DENY
        provider: {name: ext-authz}
        rules: [{}]
      `,
      [`${P}7: ${AP} spec.provider: provider can only be set with action CUSTOM (action is DENY)`],
    ],
    [
      'DENY without rules',
      yaml`action: DENY`,
      [`${P}5: ${AP} spec.rules: DENY action needs rules (an empty rule {} matches every request)`],
    ],
    [
      'unknown when key',
      yaml`
        rules:
        - when:
          - key: request.header[x-user]
            values: [admin]
      `,
      [
        `${P}8: ${AP} spec.rules[0].when[0].key: unknown key "request.header[x-user]" (see https://istio.io/latest/docs/reference/config/security/conditions/)`,
      ],
    ],
    [
      'when key without its [name]',
      yaml`
        rules:
        - when:
          - key: request.auth.claims
            values: [admin]
      `,
      [
        `${P}8: ${AP} spec.rules[0].when[0].key: invalid key "request.auth.claims": expected request.auth.claims[name]`,
      ],
    ],
    [
      'when without values',
      yaml`
        rules:
        - when:
          - key: source.ip
      `,
      [`${P}8: ${AP} spec.rules[0].when[0]: condition on source.ip needs values or notValues`],
    ],
    [
      'bad IP block and port',
      yaml`
        rules:
        - from:
          - source: {ipBlocks: [10.0.0.0/33]}
          to:
          - operation: {ports: ["http"]}
      `,
      [
        `${P}8: ${AP} spec.rules[0].from[0].source.ipBlocks[0]: "10.0.0.0/33" is not a valid CIDR block`,
        `${P}10: ${AP} spec.rules[0].to[0].operation.ports[0]: "http" is not a port number (0..65535)`,
      ],
    ],
    [
      'empty source',
      yaml`
        rules:
        - from:
          - source: {}
      `,
      [`${P}8: ${AP} spec.rules[0].from[0].source: \`source\` must set at least one field`],
    ],
    [
      'serviceAccounts with namespaces',
      yaml`
        rules:
        - from:
          - source: {serviceAccounts: [curl], namespaces: [default]}
      `,
      [
        `${P}8: ${AP} spec.rules[0].from[0].source: cannot set serviceAccounts together with principals or namespaces`,
      ],
    ],
    [
      'selector and targetRef',
      yaml`
        selector: {matchLabels: {app: a}}
        targetRef: {kind: Service, name: a}
      `,
      [
        `${P}7: ${AP} spec.targetRef: only one of selector, targetRef or targetRefs may be set (found selector and targetRef)`,
      ],
    ],
  ];
  for (const [title, body, expected] of cases) {
    it(title, () => assert.deepEqual(problems(authz(body)), expected));
  }
});

describe('PeerAuthentication', () => {
  it('accepts a valid one', () => {
    assert.deepEqual(problems(peer('mtls: {mode: STRICT}')), []);
  });
  it('rejects an unknown mode (schema enum)', () => {
    assert.deepEqual(problems(peer('mtls: {mode: ON}')), [
      `${P}6: ${PA} spec.mtls.mode: must be one of UNSET, DISABLE, PERMISSIVE, STRICT (got "ON")`,
    ]);
  });
  it('wants a selector for port-level mTLS', () => {
    assert.deepEqual(problems(peer('portLevelMtls:\n  "8080": {mode: DISABLE}')), [
      `${P}6: ${PA} spec.portLevelMtls: portLevelMtls needs a selector with matchLabels`,
    ]);
  });
  it('checks port numbers', () => {
    assert.deepEqual(
      problems(peer('selector: {matchLabels: {app: a}}\nportLevelMtls:\n  "0": {mode: DISABLE}')),
      [`${P}8: ${PA} spec.portLevelMtls["0"]: "0" is not a port number (1..65535)`],
    );
  });
});

describe('RequestAuthentication', () => {
  it('accepts a valid one', () => {
    const body = yaml`
      selector: {matchLabels: {istio: ingressgateway}}
      jwtRules:
      - issuer: testing@secure.istio.io
        jwksUri: https://raw.githubusercontent.com/istio/istio/master/security/tools/jwt/samples/jwks.json
        timeout: 5s
    `;
    assert.deepEqual(problems(reqn(body)), []);
  });
  const cases: [string, string, string[]][] = [
    [
      'issuer or jwksUri',
      yaml`jwtRules: [{audiences: [a]}]`,
      [`${P}6: ${RA} spec.jwtRules[0].issuer: issuer (or jwksUri) is required`],
    ],
    [
      'jwks and jwksUri',
      yaml`
        jwtRules:
        - issuer: me
          jwksUri: https://example.com/jwks.json
          jwks: '{"keys": []}'
      `,
      [`${P}9: ${RA} spec.jwtRules[0].jwks: cannot set both jwks and jwksUri`],
    ],
    [
      'jwksUri scheme',
      yaml`
        jwtRules:
        - issuer: me
          jwksUri: ftp://example.com/jwks.json
      `,
      [
        `${P}8: ${RA} spec.jwtRules[0].jwksUri: jwksUri "ftp://example.com/jwks.json" must be an http:// or https:// URL`,
      ],
    ],
    [
      'jwks not JSON',
      yaml`
        jwtRules:
        - issuer: me
          jwks: "{keys"
      `,
      [
        `${P}8: ${RA} spec.jwtRules[0].jwks: jwks is not valid JSON: Expected property name or '}' in JSON at position 1`,
      ],
    ],
  ];
  for (const [title, body, expected] of cases) {
    it(title, () => assert.deepEqual(problems(reqn(body)), expected));
  }
});
