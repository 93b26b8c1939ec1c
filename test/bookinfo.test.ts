// Bookinfo under skiff, as Istio's docs drive it: the product page through the ingress gateway,
// then Istio's own routing files (../shared/istio-samples) applied unchanged with `skiff apply`,
// each changing what the page shows as the docs describe. Without the samples, the same steps
// run with this test's own copies of the rules, and the conformance part says it skipped.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Mesh } from '../src/launcher/mesh.js';
import { startMesh } from '../src/launcher/mesh.js';
import { ROOT, SKIFF, eventually } from './support/skiff.js';

const SAMPLES = path.resolve(ROOT, '../shared/istio-samples/bookinfo/networking');
const HAVE_SAMPLES = existsSync(SAMPLES);

const OWN_SUBSETS = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
    - { name: v3, labels: { version: v3 } }
`;
const OWN_REVIEWS_V3 = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
    - route:
        - destination: { host: reviews, subset: v3 }
`;

interface Page {
  readonly servedBy: string;
  readonly colors: string[];
  readonly text: string;
}

describe('Bookinfo', { timeout: 300_000 }, () => {
  let cwd: string;
  let mesh: Mesh;
  let gateway: string;

  before(async () => {
    cwd = mkdtempSync(path.join(os.tmpdir(), 'skiff-bookinfo-'));
    mesh = await startMesh({
      dir: path.join(ROOT, 'examples/bookinfo'),
      cwd,
      skiffCommand: SKIFF,
      ingressPort: 0,
      startTimeoutMs: 120_000,
    });
    const port = mesh.record.gateway.ports[0]?.hostPort;
    assert.ok(port, 'the gateway listens');
    gateway = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    await mesh?.stop();
  });

  async function page(cookie?: string): Promise<Page> {
    const res = await fetch(`${gateway}/productpage`, { headers: cookie ? { cookie } : {} });
    const text = await res.text();
    assert.equal(res.status, 200, text.slice(0, 300));
    return {
      servedBy: /Reviews served by: ([a-z0-9-]+)/.exec(text)?.[1] ?? '',
      colors: [...text.matchAll(/<font color="([a-z]+)">/g)].map((m) => m[1] ?? ''),
      text,
    };
  }

  function skiff(...args: string[]): string {
    const [cmd = '', ...rest] = SKIFF;
    const r = spawnSync(cmd, [...rest, ...args], { cwd, encoding: 'utf8' });
    assert.equal(r.status, 0, `skiff ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  function applyText(name: string, text: string): void {
    const file = path.join(cwd, name);
    writeFileSync(file, text);
    skiff('apply', '-f', file);
  }

  /** Waits until `n` consecutive pages satisfy `check` (the push has reached every proxy). */
  async function settles(
    what: string,
    check: (p: Page) => boolean,
    n = 6,
    cookie?: string,
  ): Promise<void> {
    await eventually(what, async () => {
      for (let i = 0; i < n; i++) if (!check(await page(cookie))) return false;
      return true;
    });
  }

  test('the product page shows details and reviews through the ingress gateway', async () => {
    const seen = new Set<string>();
    // Least request (Istio's default) picks at random among idle hosts: keep loading pages until
    // every reviews instance served one (about 6 pages expected), checking each page.
    for (let i = 0; i < 12 || (seen.size < 3 && i < 200); i++) {
      const p = await page();
      assert.match(p.text, /The Comedy of Errors/);
      assert.match(p.text, /ISBN-10:<\/dt><dd>1234567890/);
      assert.match(p.text, /An extremely entertaining play by Shakespeare/);
      seen.add(p.servedBy);
      if (p.servedBy === 'reviews-v1-0') assert.deepEqual(p.colors, []);
      if (p.servedBy === 'reviews-v2-0') assert.deepEqual(p.colors, ['black', 'black']);
      if (p.servedBy === 'reviews-v3-0') assert.deepEqual(p.colors, ['red', 'red']);
    }
    assert.deepEqual([...seen].sort(), ['reviews-v1-0', 'reviews-v2-0', 'reviews-v3-0']);
  });

  test('routing rules of our own change the page (no samples needed)', async () => {
    applyText('own-subsets.yaml', OWN_SUBSETS);
    applyText('own-reviews-v3.yaml', OWN_REVIEWS_V3);
    await settles(
      'every page from reviews v3',
      (p) => p.servedBy === 'reviews-v3-0' && p.colors.join() === 'red,red',
    );
    skiff('delete', '-f', path.join(cwd, 'own-reviews-v3.yaml'));
    await settles('reviews from every version again', () => true);
  });

  test(
    "Istio's own bookinfo routing files, applied unchanged",
    { skip: HAVE_SAMPLES ? false : `skipped: ${SAMPLES} is absent` },
    async () => {
      const sample = (f: string) => path.join(SAMPLES, f);
      skiff(
        'apply',
        '-f',
        sample('destination-rule-all.yaml'),
        '-f',
        sample('virtual-service-all-v1.yaml'),
      );
      await settles(
        'virtual-service-all-v1: no stars',
        (p) => p.servedBy === 'reviews-v1-0' && p.colors.length === 0,
      );

      skiff('apply', '-f', sample('virtual-service-reviews-jason-v2-v3.yaml'));
      await settles(
        'jason-v2-v3: everyone else sees red stars',
        (p) => p.servedBy === 'reviews-v3-0' && p.colors.join() === 'red,red',
      );
      const login = await fetch(`${gateway}/login`, {
        method: 'POST',
        body: new URLSearchParams({ username: 'jason' }),
        redirect: 'manual',
      });
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      assert.match(cookie, /=/, 'login sets a session cookie');
      await settles(
        'jason-v2-v3: jason sees black stars',
        (p) => p.servedBy === 'reviews-v2-0' && p.colors.join() === 'black,black',
        6,
        cookie,
      );

      skiff('apply', '-f', sample('virtual-service-reviews-50-v3.yaml'));
      await eventually('reviews-50-v3: v1 and v3 both serve, nothing else', async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 40; i++) seen.add((await page()).servedBy);
        return seen.size === 2 && seen.has('reviews-v1-0') && seen.has('reviews-v3-0');
      });

      skiff('apply', '-f', sample('virtual-service-reviews-v3.yaml'));
      await settles(
        'reviews-v3: red stars only',
        (p) => p.servedBy === 'reviews-v3-0' && p.colors.join() === 'red,red',
        10,
      );
    },
  );
});
