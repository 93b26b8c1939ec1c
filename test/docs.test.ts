// The documentation's YAML examples are real config: every ```yaml block of README.md and
// docs/*.md that holds resources (a top-level `kind:`) parses and validates as `skiff validate`
// would check it (warnings allowed, errors not), so an example cannot rot unnoticed. Other YAML
// (a Prometheus config, an xDS excerpt, a mesh config) is not resource config.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseConfigText } from '../src/config/parse.js';
import { formatProblem } from '../src/config/resource.js';
import { ROOT } from './support/skiff.js';

interface Block {
  readonly file: string;
  /** Line of the block's first YAML line in its file. */
  readonly line: number;
  readonly text: string;
}

function yamlBlocks(file: string): Block[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```yaml\s*$/.exec(lines[i] ?? '');
    if (!open) continue;
    const indent = open[1]?.length ?? 0;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j] ?? ''); j++) {
      body.push((lines[j] ?? '').slice(indent));
    }
    blocks.push({ file, line: i + 2, text: resourcesOnly(body).join('\n') });
    i = j;
  }
  return blocks;
}

/** Blanks the documents without a top-level `kind:` (lines kept, so line numbers hold). */
function resourcesOnly(lines: string[]): string[] {
  const out: string[] = [];
  let doc: string[] = [];
  const flush = () => {
    const isResource = doc.some((l) => /^kind:/.test(l));
    out.push(...(isResource ? doc : doc.map(() => '')));
    doc = [];
  };
  for (const line of lines) {
    if (/^---\s*$/.test(line)) {
      flush();
      out.push(line);
    } else doc.push(line);
  }
  flush();
  return out;
}

const DOCS = [
  path.join(ROOT, 'README.md'),
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join(ROOT, 'docs', f)),
];

test('every YAML example of the README and docs/ is valid skiff config', () => {
  const blocks = DOCS.flatMap(yamlBlocks).filter((b) => b.text.trim() !== '');
  assert.ok(blocks.length >= 3, `found ${blocks.length} YAML examples of resources`);
  const errors: string[] = [];
  for (const b of blocks) {
    const rel = path.relative(ROOT, b.file);
    const { resources, problems } = parseConfigText(b.text, rel);
    for (const p of problems.filter((x) => x.severity === 'error')) {
      errors.push(formatProblem({ ...p, line: p.line + b.line - 1 }));
    }
    if (!problems.some((x) => x.severity === 'error') && resources.length === 0)
      errors.push(`${rel}:${b.line}: an example with no resource in it`);
  }
  assert.deepEqual(errors, []);
});
