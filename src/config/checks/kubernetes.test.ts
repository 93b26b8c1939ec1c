import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isKind, secretData } from '../kinds.js';
import { parse, problems, withSpec, yaml } from '../testing.js';

const svc = (body: string): string => withSpec('v1', 'Service', 'reviews', body);
const P = 'test.yaml:';
const S = 'Service default/reviews:';

describe('Service', () => {
  it('accepts a Service and applies Kubernetes defaults', () => {
    const r = parse(
      svc(yaml`
        selector: {app: reviews}
        ports:
        - name: http
          port: 9080
        - name: grpc
          port: 9090
          targetPort: grpc-port
          appProtocol: grpc
        type: ClusterIP
        sessionAffinity: None
        ipFamilyPolicy: SingleStack
      `),
    );
    assert.deepEqual(r.problems, []);
    const res = r.resources[0];
    assert.ok(res && isKind(res, 'Service'));
    assert.deepEqual(res.spec, {
      selector: { app: 'reviews' },
      ports: [
        { name: 'http', port: 9080, targetPort: 9080, protocol: 'TCP' },
        { name: 'grpc', port: 9090, targetPort: 'grpc-port', protocol: 'TCP', appProtocol: 'grpc' },
      ],
      type: 'ClusterIP',
    });
  });

  const cases: [string, string, string[]][] = [
    [
      'bad targetPort',
      yaml`
        ports:
        - port: 80
          targetPort: Http_Port
      `,
      [
        `${P}8: ${S} spec.ports[0].targetPort: invalid targetPort "Http_Port": a port number (1..65535) or a port name (at most 15 lower-case letters, digits and '-', with a letter)`,
      ],
    ],
    [
      'targetPort out of range',
      yaml`
        ports:
        - port: 80
          targetPort: 0
      `,
      [`${P}8: ${S} spec.ports[0].targetPort: port number 0 must be in the range 1..65535`],
    ],
    [
      'targetPort of the wrong type',
      yaml`
        ports:
        - port: 80
          targetPort: [80]
      `,
      [`${P}8: ${S} spec.ports[0].targetPort: must be an integer or a string (got a list)`],
    ],
    [
      'no ports',
      yaml`selector: {app: reviews}`,
      [`${P}5: ${S} spec.ports: at least one port is required`],
    ],
    [
      'several ports need names',
      yaml`
        ports:
        - port: 80
        - port: 81
          name: b
      `,
      [`${P}7: ${S} spec.ports[0].name: port name is required when a Service has several ports`],
    ],
    [
      'bad protocol',
      yaml`
        ports:
        - port: 80
          protocol: HTTP
      `,
      [`${P}8: ${S} spec.ports[0].protocol: must be one of TCP, UDP, SCTP (got "HTTP")`],
    ],
    [
      'nodePort needs type NodePort',
      yaml`
        ports:
        - port: 80
          nodePort: 30080
      `,
      [
        `${P}8: ${S} spec.ports[0].nodePort: nodePort can only be set when type is NodePort or LoadBalancer (type is ClusterIP)`,
      ],
    ],
    [
      'unknown field',
      yaml`
        ports:
        - port: 80
        selectr: {app: reviews}
      `,
      [`${P}8: ${S} spec.selectr: unknown field (did you mean "selector"?)`],
    ],
    [
      'bad selector',
      yaml`
        ports:
        - port: 80
        selector: {app: "re views"}
      `,
      [
        `${P}8: ${S} spec.selector.app: label invalid value "re views": use at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
      ],
    ],
  ];
  for (const [title, body, expected] of cases) {
    it(title, () => assert.deepEqual(problems(svc(body)), expected));
  }

  it('wants a DNS-1035 name', () => {
    assert.deepEqual(problems(withSpec('v1', 'Service', '9reviews', 'ports: [{port: 80}]')), [
      `${P}4: Service default/9reviews: metadata.name: "9reviews" is not a valid Service name (DNS-1035 label): use at most 63 lower-case letters, digits and '-', starting with a letter`,
    ]);
  });
});

describe('Secret', () => {
  it('accepts a TLS secret and decodes it', () => {
    const text = yaml`
      apiVersion: v1
      kind: Secret
      metadata: {name: bookinfo-cert}
      type: kubernetes.io/tls
      data:
        tls.crt: ${Buffer.from('CERT').toString('base64')}
      stringData:
        tls.key: KEY
    `;
    const r = parse(text);
    assert.deepEqual(r.problems, []);
    const res = r.resources[0];
    assert.ok(res && isKind(res, 'Secret'));
    const data = secretData(res.spec);
    assert.equal(data['tls.crt']?.toString(), 'CERT');
    assert.equal(data['tls.key']?.toString(), 'KEY');
  });

  it('wants tls.crt and tls.key, and base64 data', () => {
    const text = yaml`
      apiVersion: v1
      kind: Secret
      metadata: {name: bookinfo-cert}
      type: kubernetes.io/tls
      data:
        tls.crt: not*base64
    `;
    assert.deepEqual(problems(text), [
      `${P}5: Secret default/bookinfo-cert: data: a kubernetes.io/tls Secret needs "tls.key"`,
      `${P}6: Secret default/bookinfo-cert: data["tls.crt"]: value is not valid base64`,
    ]);
  });

  it('rejects unknown top-level fields', () => {
    const text = yaml`
      apiVersion: v1
      kind: Secret
      metadata: {name: s}
      spec: {}
    `;
    assert.deepEqual(problems(text), [`${P}4: Secret default/s: spec: unknown field`]);
  });
});
