// The programs the benchmark needs from the machine (Debian packages: wrk, hey, nginx, haproxy),
// found on PATH or in sbin, with the version each one reports.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export type ToolName = 'wrk' | 'hey' | 'nginx' | 'haproxy';

export interface Tool {
  readonly name: ToolName;
  readonly path: string;
  readonly version: string;
}

/** Found tools by name; a missing one is absent, with `missing` saying what was looked for. */
export interface Tools {
  readonly found: ReadonlyMap<ToolName, Tool>;
  readonly missing: readonly string[];
}

const SBIN = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` on PATH, then in the sbin folders (nginx and haproxy live there). */
export function which(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [...(env['PATH'] ?? '').split(path.delimiter).filter(Boolean), ...SBIN];
  return dirs.map((d) => path.join(d, name)).find(executable);
}

/** What a program prints about its version (first line), whichever stream it uses. */
function versionOf(name: ToolName, file: string): string {
  // hey has no version flag: ask the package manager. wrk -v exits 1 after printing; nginx -v
  // prints to stderr.
  if (name === 'hey') {
    const pkg = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'hey'], { encoding: 'utf8' });
    return pkg.status === 0 && pkg.stdout ? `hey ${pkg.stdout.trim()}` : 'hey';
  }
  const run = spawnSync(file, ['-v'], { encoding: 'utf8', timeout: 5000 });
  const text = `${run.stdout ?? ''}\n${run.stderr ?? ''}`.trim();
  const first = text.split('\n')[0]?.trim() ?? '';
  // Keep the name and version: wrk adds a copyright, haproxy a URL, nginx a prefix.
  return (
    first
      .replace(/^nginx version: /, '')
      .replace(/\s+Copyright.*$/, '')
      .replace(/\s+-\s+https?:\/\/\S+$/, '') || `${name} (unknown version)`
  );
}

export function findTools(env: NodeJS.ProcessEnv = process.env): Tools {
  const found = new Map<ToolName, Tool>();
  const missing: string[] = [];
  for (const name of ['wrk', 'hey', 'nginx', 'haproxy'] as const) {
    const file = which(name, env);
    if (file) found.set(name, { name, path: file, version: versionOf(name, file) });
    else missing.push(`${name} (not on PATH nor in ${SBIN.join(', ')})`);
  }
  return { found, missing };
}
