#!/usr/bin/env node
// The skiff command: runs the compiled CLI (npm run build makes dist/).
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('skiff: dist/ is missing; run `npm run build` first');
  process.exit(1);
}
await import(main.href);
