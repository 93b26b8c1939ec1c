// The "not applied yet" warnings: every use of a validated-but-unapplied field or kind is named.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../parse.js';
import { formatProblem } from '../resource.js';
import { yaml } from '../testing.js';

const lines = (text: string) => parseConfigText(text, 'test.yaml').problems.map(formatProblem);

describe('not applied yet', () => {
  it('warns at each field skiff does not apply yet, and keeps the resource', () => {
    const text = yaml`
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: api }
      spec:
        hosts: [api.example.com]
        ports: [{ number: 443, name: tls, protocol: TLS }]
        resolution: DNS
        subjectAltNames: [spiffe://example.com/api]
    `;
    assert.deepEqual(lines(text), [
      'test.yaml:8: ServiceEntry default/api: spec.subjectAltNames: warning: not applied by skiff yet',
    ]);
    assert.equal(parseConfigText(text, 'test.yaml').resources.length, 1);
  });

  it('warns once for a kind that is validated but not applied', () => {
    const text = yaml`
      apiVersion: networking.istio.io/v1
      kind: WorkloadGroup
      metadata: { name: reviews, namespace: default }
      spec:
        template: { serviceAccount: reviews }
    `;
    assert.deepEqual(lines(text), [
      'test.yaml:1: WorkloadGroup default/reviews: warning: WorkloadGroup is validated but not applied by skiff yet',
    ]);
  });

  it('says nothing about what is applied', () => {
    const text = yaml`
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: reviews }
      spec:
        hosts: [reviews]
        http:
          - match: [{ headers: { end-user: { exact: jason } }, sourceLabels: { app: productpage } }]
            fault: { abort: { httpStatus: 500, percentage: { value: 1 } } }
            corsPolicy: { allowOrigins: [{ exact: "https://example.com" }] }
            headers: { request: { set: { x-a: b } } }
            mirror: { host: reviews, subset: v3 }
            mirrorPercentage: { value: 5 }
            route: [{ destination: { host: reviews, subset: v2 }, headers: { response: { remove: [x-b] } } }]
    `;
    assert.deepEqual(lines(text), []);
  });
  it('tcpKeepalive is applied whole: time, interval and probes', () => {
    const text = yaml`
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: db }
      spec:
        host: db
        trafficPolicy:
          connectionPool: { tcp: { tcpKeepalive: { time: 30s, interval: 5s, probes: 3 } } }
          portLevelSettings:
            - port: { number: 5432 }
              connectionPool: { tcp: { tcpKeepalive: { interval: 1s, probes: 2 } } }
        subsets:
          - name: v1
            labels: { version: v1 }
            trafficPolicy: { connectionPool: { tcp: { tcpKeepalive: { interval: 2s, probes: 4 } } } }
    `;
    assert.deepEqual(lines(text), []);
  });

  it('tcp[] and tls[] routes and TLS PASSTHROUGH servers are applied; what they cannot use is named', () => {
    const vs = yaml`
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: db }
      spec:
        hosts: [db.example.com]
        tcp:
          - match: [{ port: 5432, sourceLabels: { app: api }, destinationSubnets: [10.0.0.0/8] }]
            route: [{ destination: { host: db.example.com }, weight: 100 }]
          - match: [{ port: 5433, sourceSubnet: 10.1.0.0/16 }]
            route: [{ destination: { host: db.example.com }, weight: 100 }]
        tls:
          - match: [{ port: 443, sniHosts: [db.example.com], destinationSubnets: [10.0.0.0/8] }]
            route: [{ destination: { host: db.example.com } }]
    `;
    assert.deepEqual(lines(vs), [
      'test.yaml:9: VirtualService default/db: spec.tcp[1].match[0].sourceSubnet: warning: not applied by skiff yet',
    ]);
    const gw = yaml`
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: { name: gw }
      spec:
        selector: { istio: ingressgateway }
        servers:
          - port: { number: 443, name: tls, protocol: TLS }
            tls: { mode: PASSTHROUGH }
            hosts: [a.example.com]
          - port: { number: 8443, name: https, protocol: HTTPS }
            tls: { mode: SIMPLE, credentialName: cert }
            hosts: [b.example.com]
          - port: { number: 9443, name: https-mesh, protocol: HTTPS }
            tls: { mode: ISTIO_MUTUAL }
            hosts: [c.example.com]
          - port: { number: 10443, name: https-opt, protocol: HTTPS }
            tls: { mode: OPTIONAL_MUTUAL, credentialName: cert }
            hosts: [d.example.com]
    `;
    // SIMPLE, MUTUAL with a credentialName and ISTIO_MUTUAL are applied; OPTIONAL_MUTUAL is not.
    assert.deepEqual(lines(gw), [
      'test.yaml:17: Gateway default/gw: spec.servers[3].tls.mode: warning: not applied by skiff yet',
    ]);
  });
});
