// Runs every test with node:test: unit tests (src/**/*.test.ts) in parallel, then the
// integration tests (test/**/*.test.ts), which start whole meshes, one file at a time.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

function find(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...find(full));
    else if (entry.endsWith('.test.ts')) out.push(path.relative(root, full));
  }
  return out.sort();
}

const only = process.argv.slice(2);
const pick = (files) =>
  only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
const groups = [
  {
    files: pick([...find(path.join(root, 'src')), ...find(path.join(root, 'bench'))]),
    concurrency: '2',
  },
  { files: pick(find(path.join(root, 'test'))), concurrency: '1' },
];

let failed = false;
for (const { files, concurrency } of groups) {
  if (files.length === 0) continue;
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${concurrency}`,
      '--test-timeout=180000',
      ...files,
    ],
    { cwd: root, stdio: 'inherit' },
  );
  if (result.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
