import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse, problems, withSpec, yaml } from '../testing.js';

const gw = (body: string, name = 'bookinfo-gateway'): string =>
  withSpec('networking.istio.io/v1', 'Gateway', name, body);
const P = 'test.yaml:';
const GW = 'Gateway default/bookinfo-gateway:';

describe('Gateway', () => {
  it('accepts a valid one', () => {
    const r = parse(
      gw(yaml`
        selector: {istio: ingressgateway}
        servers:
        - port: {number: 8080, name: http, protocol: HTTP}
          hosts: ["*"]
          tls: {httpsRedirect: true}
        - port: {number: 443, name: https, protocol: HTTPS}
          hosts: [bookinfo/reviews.example.com, "./*.example.com"]
          tls: {mode: SIMPLE, credentialName: bookinfo-cert}
      `),
    );
    assert.deepEqual(r.problems, []);
  });

  const cases: [string, string, string[]][] = [
    [
      'no servers',
      yaml`selector: {istio: ingressgateway}`,
      [`${P}5: ${GW} spec.servers: at least one server is required`],
    ],
    [
      'server without hosts (schema)',
      yaml`
        servers:
        - port: {number: 80, name: http, protocol: HTTP}
      `,
      [`${P}7: ${GW} spec.servers[0].hosts: required field is missing`],
    ],
    [
      'server with empty hosts',
      yaml`
        servers:
        - port: {number: 80, name: http, protocol: HTTP}
          hosts: []
      `,
      [`${P}8: ${GW} spec.servers[0].hosts: at least one host is required`],
    ],
    [
      'bad port number',
      yaml`
        servers:
        - port: {number: 0, name: http, protocol: HTTP}
          hosts: ["*"]
      `,
      [`${P}7: ${GW} spec.servers[0].port.number: port number 0 must be in the range 1..65535`],
    ],
    [
      'unknown protocol',
      yaml`
        servers:
        - port: {number: 80, name: http, protocol: HTTP3}
          hosts: ["*"]
      `,
      [
        `${P}7: ${GW} spec.servers[0].port.protocol: unsupported protocol "HTTP3" (use HTTP, HTTPS, HTTP2, GRPC, GRPC-WEB, TCP, TLS, UDP, MONGO, REDIS or MYSQL)`,
      ],
    ],
    [
      'port without a name (schema)',
      yaml`
        servers:
        - port: {number: 80, protocol: HTTP}
          hosts: ["*"]
      `,
      [`${P}7: ${GW} spec.servers[0].port.name: required field is missing`],
    ],
    [
      'duplicate port names',
      yaml`
        servers:
        - port: {number: 80, name: web, protocol: HTTP}
          hosts: ["*"]
        - port: {number: 81, name: web, protocol: HTTP}
          hosts: ["*"]
      `,
      [`${P}9: ${GW} spec.servers[1].port.name: duplicate port name "web" (also in servers[0])`],
    ],
    [
      'hosts: short names, bad namespaces, partial wildcards',
      yaml`
        servers:
        - port: {number: 80, name: http, protocol: HTTP}
          hosts:
          - reviews
          - Bad_NS/reviews.example.com
          - "*foo.example.com"
      `,
      [
        `${P}9: ${GW} spec.servers[0].hosts[0]: short host name "reviews" is not allowed in a Gateway (use a fully qualified name or a wildcard)`,
        `${P}10: ${GW} spec.servers[0].hosts[1]: invalid namespace "Bad_NS" in host "Bad_NS/reviews.example.com" (use *, . or a namespace name)`,
        `${P}11: ${GW} spec.servers[0].hosts[2]: partial wildcard "*foo.example.com" is not allowed (use *.example.com)`,
      ],
    ],
    [
      'HTTPS without TLS settings',
      yaml`
        servers:
        - port: {number: 443, name: https, protocol: HTTPS}
          hosts: ["*.example.com"]
      `,
      [`${P}7: ${GW} spec.servers[0].tls: a HTTPS server needs tls settings`],
    ],
    [
      'SIMPLE TLS without a certificate',
      yaml`
        servers:
        - port: {number: 443, name: https, protocol: HTTPS}
          hosts: ["*.example.com"]
          tls: {mode: SIMPLE}
      `,
      [
        `${P}9: ${GW} spec.servers[0].tls.serverCertificate: SIMPLE TLS needs credentialName or serverCertificate and privateKey`,
      ],
    ],
    [
      'TLS termination on a plain HTTP server',
      yaml`
        servers:
        - port: {number: 80, name: http, protocol: HTTP}
          hosts: ["*"]
          tls: {mode: SIMPLE, credentialName: c}
      `,
      [`${P}9: ${GW} spec.servers[0].tls: a plain-text HTTP server can only set tls.httpsRedirect`],
    ],
    [
      'certificates with the default (PASSTHROUGH) mode',
      yaml`
        servers:
        - port: {number: 443, name: tls, protocol: TLS}
          hosts: ["*.example.com"]
          tls: {credentialName: c}
      `,
      [
        `${P}9: ${GW} spec.servers[0].tls: warning: PASSTHROUGH does not use certificates; they are ignored`,
      ],
    ],
    [
      'TLS termination on a TLS (TCP) server: not applied yet, said so',
      yaml`
        servers:
        - port: {number: 443, name: tls, protocol: TLS}
          hosts: ["*.example.com"]
          tls: {mode: SIMPLE, credentialName: c}
      `,
      [
        `${P}9: ${GW} spec.servers[0].tls.mode: warning: not applied by skiff yet: SIMPLE on a TLS server (use PASSTHROUGH, or an HTTPS server to terminate)`,
      ],
    ],
    [
      'TLS settings on a TCP server',
      yaml`
        servers:
        - port: {number: 31400, name: tcp, protocol: TCP}
          hosts: ["*"]
          tls: {mode: SIMPLE, credentialName: c}
      `,
      [`${P}9: ${GW} spec.servers[0].tls: a TCP server cannot have tls settings`],
    ],
    [
      'a gateway name must be a DNS label',
      yaml`
        servers:
        - port: {number: 80, name: http, protocol: HTTP}
          hosts: ["*"]
      `,
      [
        `${P}4: Gateway default/gw.v1: metadata.name: "gw.v1" is not a valid name: use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit`,
      ],
    ],
  ];

  for (const [title, body, expected] of cases) {
    it(title, () => {
      const name = title.startsWith('a gateway name') ? 'gw.v1' : undefined;
      assert.deepEqual(problems(gw(body, name)), expected);
    });
  }
});
