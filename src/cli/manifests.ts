// The files behind `-f`: a file, a directory's manifests (as kubectl -f DIR: .yaml, .yml, .json,
// not recursive), or `-` for stdin; sent to the control plane by name and text.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CliError, UsageError } from './io.js';

export interface ManifestFile {
  /** As the user gave it (the control plane names it in problem lines). */
  readonly name: string;
  readonly text: string;
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export function readManifests(paths: readonly string[]): ManifestFile[] {
  if (paths.length === 0) throw new UsageError('give -f FILE|DIR (or -f - for stdin)');
  const out: ManifestFile[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push({ name: '<stdin>', text: readFileSync(0, 'utf8') });
      continue;
    }
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      throw new CliError('ERR_NO_FILE', `${p}: no such file or directory`);
    }
    const files = isDir
      ? readdirSync(p)
          .filter((f) => EXTENSIONS.has(path.extname(f)))
          .sort()
          .map((f) => path.join(p, f))
      : [p];
    if (isDir && files.length === 0) {
      throw new CliError('ERR_NO_FILE', `${p}: no .yaml, .yml or .json files`);
    }
    for (const file of files) out.push({ name: file, text: readFileSync(file, 'utf8') });
  }
  return out;
}
