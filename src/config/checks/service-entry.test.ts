import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse, problems, withSpec, yaml } from '../testing.js';

const se = (body: string): string =>
  withSpec('networking.istio.io/v1', 'ServiceEntry', 'ext', body);
const we = (body: string): string =>
  withSpec('networking.istio.io/v1', 'WorkloadEntry', 'vm1', body);
const wg = (body: string): string =>
  withSpec('networking.istio.io/v1', 'WorkloadGroup', 'vms', body);
const P = 'test.yaml:';
const SE = 'ServiceEntry default/ext:';

describe('ServiceEntry', () => {
  it('accepts valid ones', () => {
    const r = parse(
      se(yaml`
        hosts: [api.example.com]
        ports: [{number: 443, name: https, protocol: TLS}]
        location: MESH_EXTERNAL
        resolution: DNS
      `) +
        '---\n' +
        se(yaml`
          hosts: [db.internal]
          addresses: [10.0.0.0/24]
          ports: [{number: 5432, name: tcp-pg, protocol: TCP}]
          resolution: STATIC
          endpoints:
          - address: 10.0.0.5
            ports: {tcp-pg: 15432}
            labels: {version: v1}
        `),
    );
    assert.deepEqual(r.problems, []);
    assert.equal(r.resources.length, 2);
  });

  const cases: [string, string, string[]][] = [
    [
      'hosts are required',
      yaml`resolution: DNS`,
      [`${P}5: ${SE} spec.hosts: required field is missing`],
    ],
    [
      'host "*"',
      yaml`
        hosts: ["*"]
        ports: [{number: 80, name: http, protocol: HTTP}]
      `,
      [`${P}6: ${SE} spec.hosts[0]: host "*" is not allowed in a ServiceEntry`],
    ],
    [
      'STATIC without endpoints or selector',
      yaml`
        hosts: [db.internal]
        ports: [{number: 5432, name: tcp, protocol: TCP}]
        resolution: STATIC
      `,
      [`${P}8: ${SE} spec.resolution: resolution STATIC needs endpoints or a workloadSelector`],
    ],
    [
      'STATIC with a host name endpoint',
      yaml`
        hosts: [db.internal]
        ports: [{number: 5432, name: tcp, protocol: TCP}]
        resolution: STATIC
        endpoints:
        - address: db.example.com
      `,
      [
        `${P}10: ${SE} spec.endpoints[0].address: endpoint address "db.example.com" must be an IP address (resolution STATIC)`,
      ],
    ],
    [
      'NONE with endpoints',
      yaml`
        hosts: [db.internal]
        ports: [{number: 5432, name: tcp, protocol: TCP}]
        endpoints:
        - address: 10.0.0.1
      `,
      [`${P}8: ${SE} spec.endpoints: resolution NONE cannot have endpoints (use STATIC or DNS)`],
    ],
    [
      'DNS without endpoints and a wildcard host',
      yaml`
        hosts: ["*.example.com"]
        ports: [{number: 443, name: tls, protocol: TLS}]
        resolution: DNS
      `,
      [
        `${P}6: ${SE} spec.hosts[0]: with resolution DNS and no endpoints, hosts must be fully qualified names without wildcards`,
      ],
    ],
    [
      'workloadSelector and endpoints',
      yaml`
        hosts: [db.internal]
        ports: [{number: 5432, name: tcp, protocol: TCP}]
        resolution: STATIC
        workloadSelector: {labels: {app: db}}
        endpoints:
        - address: 10.0.0.1
      `,
      [`${P}10: ${SE} spec.endpoints: cannot set both workloadSelector and endpoints`],
    ],
    [
      'duplicate ports and a bad port name',
      yaml`
        hosts: [api.example.com]
        ports:
        - {number: 80, name: http, protocol: HTTP}
        - {number: 80, name: Http_2, protocol: HTTP}
      `,
      [
        `${P}9: ${SE} spec.ports[1].name: invalid port name "Http_2": use at most 63 lower-case letters, digits and '-'`,
        `${P}9: ${SE} spec.ports[1].number: duplicate port 80`,
      ],
    ],
    [
      'endpoint port not among the ServiceEntry ports',
      yaml`
        hosts: [api.example.com]
        ports: [{number: 80, name: http, protocol: HTTP}]
        resolution: DNS
        endpoints:
        - address: api.example.com
          ports: {grpc: 9000}
      `,
      [
        `${P}11: ${SE} spec.endpoints[0].ports.grpc: port "grpc" is not one of the ServiceEntry's ports`,
      ],
    ],
    [
      'CIDR address with DNS resolution',
      yaml`
        hosts: [api.example.com]
        addresses: [10.0.0.0/8]
        ports: [{number: 80, name: http, protocol: HTTP}]
        resolution: DNS
      `,
      [`${P}7: ${SE} spec.addresses[0]: CIDR addresses need resolution NONE or STATIC (not DNS)`],
    ],
    [
      'several hosts on a TCP port',
      yaml`
        hosts: [a.example.com, b.example.com]
        ports: [{number: 5432, name: tcp, protocol: TCP}]
        resolution: DNS
      `,
      [
        `${P}7: ${SE} spec.ports[0]: several hosts need HTTP or TLS ports: a TCP port cannot tell them apart`,
      ],
    ],
  ];
  for (const [title, body, expected] of cases) {
    it(title, () => assert.deepEqual(problems(se(body)), expected));
  }
});

describe('WorkloadEntry', () => {
  it('accepts a valid one', () => {
    assert.deepEqual(problems(we('address: 10.1.2.3\nlabels: {app: vm}\nports: {http: 8080}')), []);
  });
  it('requires an address unless a network is set', () => {
    assert.deepEqual(problems(we('labels: {app: vm}')), [
      `${P}5: WorkloadEntry default/vm1: spec.address: address is required (unless network is set)`,
    ]);
    assert.deepEqual(problems(we('network: vpc1')), [
      `${P}5: WorkloadEntry default/vm1: spec.address: warning: address is unset with network "vpc1"`,
    ]);
  });
  it('checks ports and labels', () => {
    assert.deepEqual(problems(we('address: 10.1.2.3\nports: {http: 0}\nlabels: {app: "-vm"}')), [
      `${P}7: WorkloadEntry default/vm1: spec.ports.http: port number 0 must be in the range 1..65535`,
      `${P}8: WorkloadEntry default/vm1: spec.labels.app: label invalid value "-vm": use at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
    ]);
  });
});

describe('WorkloadGroup', () => {
  it('requires a template and checks the probe', () => {
    assert.deepEqual(problems(wg('probe:\n  httpGet: {port: 0}')), [
      `${P}5: WorkloadGroup default/vms: spec.template: required field is missing`,
    ]);
    assert.deepEqual(problems(wg('template: {serviceAccount: vm}\nprobe:\n  httpGet: {port: 0}')), [
      `${P}8: WorkloadGroup default/vms: spec.probe.httpGet.port: port number 0 must be in the range 1..65535`,
    ]);
  });
});
