// Where a profiled skiff proxy spent its time: reads the .cpuprofile that `node --cpu-prof`
// writes at exit (V8's CPU profile: a call tree of nodes and the node each sample landed in) and
// sums self time per function and per source file.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
}

export interface SelfTime {
  /** `functionName file:line`, or V8's pseudo-frames `(garbage collector)`, `(program)`. */
  readonly name: string;
  readonly ms: number;
  /** Share of the busy (non-idle) time. */
  readonly share: number;
}

export interface ProfileSummary {
  readonly wallMs: number;
  /** Time not in `(idle)`. */
  readonly busyMs: number;
  readonly functions: readonly SelfTime[];
  readonly files: readonly SelfTime[];
}

/** Shortens a script URL: `file:///…/dist/src/proxy/x.js` → `src/proxy/x.js`, undici by name. */
export function shortUrl(url: string): string {
  if (!url) return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const m = /\/(?:dist\/)?((?:src|bench)\/.*)$/.exec(url);
  return m ? m[1]! : url.replace(/^file:\/\//, '');
}

function add(map: Map<string, number>, key: string, ms: number): void {
  map.set(key, (map.get(key) ?? 0) + ms);
}

export function summarizeProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const wallMs = (profile.endTime - profile.startTime) / 1000;
  // Samples come at a fixed interval: each stands for wall time / samples.
  const perSample = profile.samples.length ? wallMs / profile.samples.length : 0;
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  let idleMs = 0;
  for (const id of profile.samples) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    if (frame.functionName === '(idle)') {
      idleMs += perSample;
      continue;
    }
    const file = shortUrl(frame.url);
    // lineNumber is 0-based in V8's profile.
    const where = file ? ` ${file}:${frame.lineNumber + 1}` : '';
    add(fns, `${frame.functionName || '(anonymous)'}${where}`, perSample);
    add(files, file || frame.functionName, perSample);
  }
  const busyMs = wallMs - idleMs;
  const rank = (m: Map<string, number>): SelfTime[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms, share: busyMs > 0 ? ms / busyMs : 0 }));
  return { wallMs, busyMs, functions: rank(fns), files: rank(files) };
}

/** The profile `node --cpu-prof` wrote for `pid` in `dir` (CPU.<date>.<time>.<pid>.<tid>.<seq>). */
export function profileFileFor(dir: string, pid: number): string | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  const name = names.find((n) => n.endsWith('.cpuprofile') && n.split('.')[3] === String(pid));
  return name ? path.join(dir, name) : undefined;
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

export function renderProfile(label: string, s: ProfileSummary): string {
  const line = (t: SelfTime): string =>
    `| ${t.name.replace(/\|/g, '\\|')} | ${t.ms.toFixed(0)} | ${(t.share * 100).toFixed(1)}% |`;
  return [
    `### CPU profile: ${label} (busy ${(s.busyMs / 1000).toFixed(1)} s of ${(s.wallMs / 1000).toFixed(1)} s)`,
    '',
    '| function (self time) | ms | of busy |',
    '| --- | --- | --- |',
    ...s.functions.map(line),
    '',
    '| file (self time) | ms | of busy |',
    '| --- | --- | --- |',
    ...s.files.map(line),
    '',
  ].join('\n');
}
