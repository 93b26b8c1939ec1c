// The control plane refuses invalid config exactly as `skiff validate` does: the same lines for
// every broken fixture through `apply`, and a watched file that turns invalid keeps its last
// valid version in force.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runValidate } from '../src/cli/validate.js';
import type { RunningControlPlane } from '../src/control-plane/main.js';
import { startControlPlane } from '../src/control-plane/main.js';
import { ROOT, eventually } from './support/skiff.js';

const INVALID = path.join(ROOT, 'test/fixtures/config/invalid');

const VS = (subset: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
    - route: [{ destination: { host: reviews, subset: ${subset} } }]
`;

async function validateLines(file: string): Promise<string[]> {
  const lines: string[] = [];
  await runValidate([file], { log: (l) => lines.push(l), error: (l) => lines.push(l) });
  return lines.filter((l) => !l.includes(': warning: '));
}

describe('the control plane refuses what skiff validate rejects', () => {
  let dir: string;
  let cp: RunningControlPlane;
  const api = (p: string) => `http://${cp.ready.httpAddress}${p}`;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-refuse-'));
    writeFileSync(path.join(dir, 'reviews.yaml'), VS('v1'));
    cp = await startControlPlane({
      configPaths: [dir],
      stateDir: path.join(dir, '.state'),
      bind: '127.0.0.1',
      grpcPort: 0,
      httpPort: 0,
      gatewayPorts: {},
      debounceMs: 20,
      log: () => {},
    });
  });

  after(async () => {
    await cp?.close();
  });

  for (const name of readdirSync(INVALID).sort()) {
    it(`apply refuses ${name} with validate's lines`, async () => {
      const file = path.join(INVALID, name);
      const expected = await validateLines(file);
      assert.ok(expected.length > 0);
      const res = await fetch(api('/api/v1/apply'), {
        method: 'POST',
        body: JSON.stringify({ files: [{ name: file, text: readFileSync(file, 'utf8') }] }),
      });
      assert.equal(res.status, 422);
      assert.deepEqual(((await res.json()) as { problems: string[] }).problems, expected);
    });
  }

  it('nothing refused reached the store', async () => {
    const res = (await (await fetch(api('/api/v1/resources'))).json()) as {
      resources: { kind: string; origin: string }[];
    };
    assert.deepEqual(
      res.resources.map((r) => `${r.kind} ${r.origin}`),
      ['VirtualService file'],
    );
  });

  it('a watched file that turns invalid keeps its last valid version, and says why', async () => {
    const file = path.join(dir, 'reviews.yaml');
    writeFileSync(file, VS('v1').replace('hosts: [reviews]', 'hosts: [reviews]\n  timout: 5s'));
    const problems = await eventually('the refusal recorded', async () => {
      const list = (await (await fetch(api('/debug/problems'))).json()) as string[];
      return list.length > 0 && list;
    });
    assert.deepEqual(problems, await validateLines(file));
    assert.match(
      problems[0] ?? '',
      /reviews\.yaml:6: VirtualService default\/reviews: spec\.timout: unknown field/,
    );
    const res = (await (await fetch(api('/api/v1/resources?kind=vs&name=reviews'))).json()) as {
      resources: { spec: { http: { route: { destination: { subset: string } }[] }[] } }[];
    };
    assert.equal(
      res.resources[0]?.spec.http[0]?.route[0]?.destination.subset,
      'v1',
      'the last valid version stays in force',
    );
    // Fixed, it takes effect.
    writeFileSync(file, VS('v2'));
    await eventually('the fixed file applied', async () => {
      const r = (await (
        await fetch(api('/api/v1/resources?kind=vs&name=reviews'))
      ).json()) as typeof res;
      return r.resources[0]?.spec.http[0]?.route[0]?.destination.subset === 'v2';
    });
    assert.deepEqual(await (await fetch(api('/debug/problems'))).json(), []);
  });
});
