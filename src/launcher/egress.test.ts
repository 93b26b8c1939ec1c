// The egress gateway's plan, its Service, and its entry in the instances file.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { parseConfigText } from '../config/parse.js';
import type { ConfigResource } from '../config/resource.js';
import { formatProblem } from '../config/resource.js';
import { egressInstance, planEgress, writeEgressService } from './egress.js';
import { PortAllocator } from './ports.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'skiff-egress-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function parse(text: string): ConfigResource[] {
  const { resources, problems } = parseConfigText(text, 'egress.yaml');
  assert.deepEqual(problems.filter((p) => p.severity === 'error').map(formatProblem), []);
  return resources;
}

const GATEWAY = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: egress}
spec:
  selector: {istio: egressgateway}
  servers:
  - {port: {number: 80, name: http, protocol: HTTP}, hosts: [a.example.com]}
  - {port: {number: 443, name: tls, protocol: TLS}, hosts: [a.example.com], tls: {mode: PASSTHROUGH}}
`;

test('no Gateway selects the egress gateway: it does not run', async () => {
  const ports = new PortAllocator({ claimDir: tmp });
  assert.equal(
    await planEgress(
      parse('apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\n'),
      ports,
    ),
    undefined,
  );
  ports.release();
});

test("a Gateway selects it: a free host port per server port, Istio's identity", async () => {
  const ports = new PortAllocator({ claimDir: tmp });
  const resources = parse(GATEWAY);
  const plan = await planEgress(resources, ports);
  assert.ok(plan);
  assert.equal(plan.name, 'istio-egressgateway-0');
  assert.equal(plan.namespace, 'istio-system');
  assert.deepEqual(plan.labels, { istio: 'egressgateway', app: 'istio-egressgateway' });
  assert.deepEqual(
    plan.ports.map((p) => p.port),
    [80, 443],
  );
  assert.ok(plan.ports.every((p) => p.hostPort >= 20000));
  // Its Service: valid config, one port per server port named by protocol.
  const file = writeEgressService(path.join(tmp, 'builtin'), plan, resources);
  assert.ok(file);
  const [svc] = parse(readFileSync(file, 'utf8'));
  assert.equal(svc?.metadata.name, 'istio-egressgateway');
  assert.deepEqual(
    (svc?.spec as { ports: { name: string; port: number }[] }).ports.map(
      (p) => `${p.name}:${p.port}`,
    ),
    ['http-80:80', 'tls-443:443'],
  );
  // The instance behind it: the Service's target port is the router's host port.
  const inst = egressInstance(plan, resources, true);
  assert.deepEqual(
    inst.ports.map((p) => `${p.containerPort}->${p.listenPort}`),
    plan.ports.map((p) => `${p.port}->${p.hostPort}`),
  );
  // A Service of that name in the config (Istio's own manifests) is left alone.
  const own = parse(`${GATEWAY}---
apiVersion: v1
kind: Service
metadata: {name: istio-egressgateway, namespace: istio-system}
spec: {selector: {istio: egressgateway}, ports: [{name: http2, port: 80}]}
`);
  assert.equal(writeEgressService(path.join(tmp, 'builtin2'), plan, own), undefined);
  ports.release();
});
