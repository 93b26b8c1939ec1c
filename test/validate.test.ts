// `skiff validate` on fixture files (each invalid one says what it expects in `# expect:` lines),
// and, when ../shared/istio-samples is there, on Istio's own samples: they must be accepted.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { NOT_APPLIED } from '../src/config/testing.js';
import { runValidate } from '../src/cli/validate.js';
import { parseConfigFile } from '../src/config/parse.js';
import { formatProblem } from '../src/config/resource.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const fixtures = path.join(root, 'test/fixtures/config');
const samples = path.resolve(root, '../shared/istio-samples');

/** runValidate's output, without the "not applied yet" warnings (support.test.ts covers those). */
async function validate(paths: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const keep = (l: string) => {
    if (!NOT_APPLIED.test(l)) lines.push(l);
  };
  const out = { log: keep, error: keep };
  const code = await runValidate(paths, out);
  return { code, lines };
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) return yamlFiles(full);
      return /\.ya?ml$/.test(name) ? [full] : [];
    });
}

describe('skiff validate', () => {
  const invalid = yamlFiles(path.join(fixtures, 'invalid'));

  it('has a dozen distinct broken fixtures, each saying what it expects', () => {
    assert.ok(invalid.length >= 12, `only ${invalid.length} invalid fixtures`);
    for (const file of invalid) assert.match(readFileSync(file, 'utf8'), /^# expect: /m, file);
  });

  for (const file of invalid) {
    it(`rejects ${path.basename(file)} with the expected line`, async () => {
      const expected = readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('# expect: '))
        .map((l) => `${file}:${l.slice('# expect: '.length)}`);
      const { code, lines } = await validate([file]);
      assert.deepEqual(lines, expected);
      assert.equal(code, 1);
    });
  }

  const valid = yamlFiles(path.join(fixtures, 'valid'));
  for (const file of valid) {
    it(`accepts ${path.basename(file)} silently`, async () => {
      assert.deepEqual(await validate([file]), { code: 0, lines: [] });
    });
  }

  it('validates whole directories: problems sorted by file then line, exit 1', async () => {
    const { code, lines } = await validate([
      path.join(fixtures, 'invalid'),
      path.join(fixtures, 'valid'),
    ]);
    assert.equal(code, 1);
    assert.equal(lines.length, invalid.length);
    const files = lines.map((l) => l.slice(0, l.indexOf('.yaml:') + 5));
    assert.deepEqual(files, [...files].sort());
  });

  it('exits 0 on warnings alone, and prints them', async () => {
    const file = path.join(fixtures, 'warnings-only.yml');
    const { code, lines } = await validate([file]);
    assert.equal(code, 0);
    assert.deepEqual(lines, [
      `${file}:2: Deployment default/reviews-v1: warning: ignored: skiff does not run Deployment (apps/v1)`,
    ]);
  });

  it('reports a missing path and exits 1', async () => {
    const missing = path.join(fixtures, 'no-such-dir');
    assert.deepEqual(await validate([missing]), {
      code: 1,
      lines: [`${missing}:0: (unknown kind): no such file or directory`],
    });
  });
});

describe("conformance: Istio's samples are valid", () => {
  if (!existsSync(samples)) {
    it('istio samples', (t) => {
      t.skip(`skipped: ${samples} does not exist (CI has it; see DESIGN.md "Data for tests")`);
    });
    return;
  }
  const files = yamlFiles(samples);
  // Files of the samples that are not Kubernetes objects at all (bookinfo's swagger.yaml, an OpenAPI document).
  const isManifest = (file: string): boolean =>
    parseAllDocuments(readFileSync(file, 'utf8'))
      .map((d) => d.toJS() as unknown)
      .some((v) => typeof v === 'object' && v !== null && 'kind' in v && 'apiVersion' in v);

  it('finds the samples', () => {
    assert.ok(files.length >= 40, `only ${files.length} YAML files in ${samples}`);
  });

  for (const file of files) {
    const name = path.relative(samples, file);
    it(name, async (t) => {
      if (!isManifest(file)) {
        t.skip('not a Kubernetes manifest');
        return;
      }
      const r = await parseConfigFile(file);
      const errors = r.problems.filter((p) => p.severity === 'error').map(formatProblem);
      assert.deepEqual(errors, []);
      const warnings = r.problems
        .filter((p) => p.severity === 'warning' && !NOT_APPLIED.test(p.message))
        .map((p) => p.message);
      for (const w of warnings)
        assert.match(w, /^ignored: skiff does not run /, `${name}: unexpected warning ${w}`);
    });
  }

  it('keeps every Istio, Service and Secret resource of the samples', async () => {
    const manifests = files.filter(isManifest);
    let kept = 0;
    let expected = 0;
    for (const file of manifests) {
      kept += (await parseConfigFile(file)).resources.length;
      expected += parseAllDocuments(readFileSync(file, 'utf8'))
        .map((d) => d.toJS() as { apiVersion?: string; kind?: string } | null)
        .filter(
          (v) =>
            v?.apiVersion?.includes('istio.io') ||
            (v?.apiVersion === 'v1' && (v.kind === 'Service' || v.kind === 'Secret')),
        ).length;
    }
    assert.equal(kept, expected);
    assert.ok(kept > 50, `only ${kept} resources`);
  });
});
