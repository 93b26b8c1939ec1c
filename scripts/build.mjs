// Build: generate what is derived from dependencies, compile skiff to dist/, compile examples.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');

function run(file, args) {
  execFileSync(process.execPath, [file, ...args], { cwd: root, stdio: 'inherit' });
}

run(path.join(root, 'scripts/gen-istio-fields.mjs'), []);
run(path.join(root, 'scripts/gen-protos.mjs'), []);
run(tsc, ['-p', 'tsconfig.build.json']);
for (const example of readdirSync(path.join(root, 'examples'))) {
  const config = path.join(root, 'examples', example, 'tsconfig.json');
  if (existsSync(config)) run(tsc, ['-p', config]);
}
