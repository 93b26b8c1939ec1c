// `npm run bench`: direct, skiff's sidecar pair, nginx and haproxy measured one after the other
// in one run on this machine; prints the markdown report and writes it to bench/results/.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PortAllocator } from '../src/launcher/ports.js';
import { SKIFF_VERSION } from '../src/xds/node.js';
import { Cleanup } from './cleanup.js';
import { measure, type MeasureContext, type TargetResult } from './measure.js';
import { BenchUsageError, parseBenchArgs, USAGE, type BenchOptions } from './options.js';
import { clockTicksPerSecond } from './procfs.js';
import { profileFileFor, readProfile, renderProfile, summarizeProfile } from './profile.js';
import { renderReport, type RunInfo } from './report.js';
import { startApp, type StandaloneApp } from './targets/app.js';
import { startHaproxyPair } from './targets/haproxy.js';
import { startNginxPair } from './targets/nginx.js';
import { startSkiffPair } from './targets/skiff.js';
import type { RunningTarget, TargetName } from './targets/types.js';
import { findTools, type Tools } from './tools.js';

const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** The repository: the nearest folder up holding package.json and bin/skiff.js. */
function repoRoot(): string {
  let dir = import.meta.dirname;
  while (
    !existsSync(path.join(dir, 'package.json')) ||
    !existsSync(path.join(dir, 'bin', 'skiff.js'))
  ) {
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}

function machine(): string {
  const cpus = os.cpus();
  const gb = (os.totalmem() / 1024 ** 3).toFixed(1);
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${gb} GB RAM, ${os.type()} ${os.release()}`;
}

function commandLine(argv: readonly string[]): string {
  const args = argv.length ? ` -- ${argv.join(' ')}` : '';
  return process.env['npm_lifecycle_event'] === 'bench'
    ? `npm run bench${args}`
    : `node ${path.relative(process.cwd(), process.argv[1] ?? 'dist/bench/run.js')}${argv.length ? ' ' + argv.join(' ') : ''}`;
}

/** Why a target cannot run on this machine, or undefined when it can. */
function unavailable(name: TargetName, tools: Tools): string | undefined {
  if (name === 'nginx' && !tools.found.has('nginx')) return 'nginx is not installed';
  if (name === 'haproxy' && !tools.found.has('haproxy')) return 'haproxy is not installed';
  return undefined;
}

interface Run {
  readonly opts: BenchOptions;
  readonly tools: Tools;
  readonly dir: string;
  readonly ports: PortAllocator;
  readonly cleanup: Cleanup;
  readonly ctx: MeasureContext;
  app?: StandaloneApp;
  profiles: string[];
}

async function startTarget(name: TargetName, run: Run): Promise<RunningTarget> {
  const { dir, ports, cleanup, tools } = run;
  if (name === 'skiff' || name === 'skiff-rules') {
    const target = await startSkiffPair({
      dir: path.join(dir, name),
      cleanup,
      rules: name === 'skiff-rules',
      ...(run.opts.profile ? { cpuProfileDir: path.join(dir, 'profiles') } : {}),
      nodeFlags: run.opts.skiffNodeFlags,
      ...(run.opts.verbose ? { echo: log } : {}),
    });
    return target;
  }
  run.app ??= await startApp(dir, ports, cleanup);
  const appPort = run.app.port;
  if (name === 'direct') {
    return {
      name,
      load: { connectUrl: `http://127.0.0.1:${appPort}` },
      hops: [],
      stop: async () => {},
    };
  }
  const pair = { dir, appPort, ports, cleanup, binary: tools.found.get(name)?.path ?? name };
  return name === 'nginx' ? startNginxPair(pair) : startHaproxyPair(pair);
}

/** Summaries of the sidecars' CPU profiles (written when they exited). */
function profileReport(run: Run, target: RunningTarget): void {
  for (const hop of target.hops) {
    const pid = hop.pids[0];
    const file =
      pid === undefined ? undefined : profileFileFor(path.join(run.dir, 'profiles'), pid);
    if (!file) {
      log(`bench: no CPU profile for the ${hop.label} sidecar (pid ${pid}) in ${run.dir}/profiles`);
      continue;
    }
    run.profiles.push(
      renderProfile(`${hop.label} sidecar (${file})`, summarizeProfile(readProfile(file))),
    );
  }
}

async function runTarget(name: TargetName, run: Run): Promise<TargetResult> {
  log(`bench: ${name}`);
  let target: RunningTarget | undefined;
  try {
    target = await startTarget(name, run);
    return await measure(target, run.ctx);
  } catch (err) {
    log(`bench: ${name} failed: ${(err as Error).message}`);
    return { name, hops: [], error: (err as Error).message };
  } finally {
    await target?.stop();
    if (target && name.startsWith('skiff') && run.opts.profile) profileReport(run, target);
  }
}

async function main(argv: readonly string[], cleanup: Cleanup): Promise<number> {
  const opts = parseBenchArgs(argv);
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const tools = findTools();
  for (const m of tools.missing) log(`bench: MISSING ${m}: its column is skipped`);
  if (!tools.found.has('wrk') && !tools.found.has('hey')) {
    log('bench: neither wrk nor hey is installed: nothing can be measured');
    return 1;
  }
  const root = repoRoot();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-'));
  // nginx's worker runs as nobody when we are root: it must be able to reach its temp folders.
  chmodSync(dir, 0o755);
  let keep = opts.keep || opts.profile;
  cleanup.add('temp dir', () => {
    if (keep) log(`bench: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });
  const ports = new PortAllocator();
  cleanup.add('port claims', () => ports.release());
  const before = os.loadavg();
  if (before[0]! > os.cpus().length * 0.5) {
    log(
      `bench: load average ${before[0]!.toFixed(2)} on ${os.cpus().length} CPUs: other work competes with this run; figures will be noisy`,
    );
  }
  const run: Run = {
    opts,
    tools,
    dir,
    ports,
    cleanup,
    profiles: [],
    ctx: {
      settings: opts.settings,
      wrk: tools.found.get('wrk'),
      hey: tools.found.get('hey'),
      dir,
      cleanup,
      clockTicks: clockTicksPerSecond(),
      log,
    },
  };
  const results: TargetResult[] = [];
  const skipped: RunInfo['skipped'][number][] = [];
  for (const name of opts.targets) {
    if (cleanup.interrupted.aborted) return 130;
    const why = unavailable(name, tools);
    if (why) {
      log(`bench: skipping ${name}: ${why}`);
      skipped.push({ name, why });
      continue;
    }
    results.push(await runTarget(name, run));
  }
  if (cleanup.interrupted.aborted) return 130;
  if (results.some((r) => r.error)) keep = true; // its logs explain the failure
  const info: RunInfo = {
    startedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    command: commandLine(argv),
    machine: machine(),
    versions: [
      `skiff ${SKIFF_VERSION}`,
      `node ${process.version}`,
      ...[...tools.found.values()].map((t) => t.version),
    ],
    missing: tools.missing,
    loadAverage: { before, after: os.loadavg() },
    settings: opts.settings,
    skipped,
  };
  let report = renderReport(info, results);
  if (opts.skiffNodeFlags.length) {
    report += `\nskiff ran with \`node ${opts.skiffNodeFlags.join(' ')}\`.\n`;
  }
  if (opts.profile) {
    report +=
      '\nskiff ran under `node --cpu-prof`: its figures include the profiler.\n\n' +
      run.profiles.join('\n');
  }
  process.stdout.write(report);
  const out = path.resolve(root, opts.out);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, report);
  log(`bench: report written to ${path.relative(process.cwd(), out)}`);
  return results.some((r) => r.name === 'skiff' && r.error) ? 1 : 0;
}

const cleanup = new Cleanup();
cleanup.exitOnSignals();
const argv = process.argv.slice(2);
try {
  process.exitCode = await main(argv, cleanup);
} catch (err) {
  if (err instanceof BenchUsageError) log(`bench: ${err.message}\n\n${USAGE}`);
  else log(`bench: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = err instanceof BenchUsageError ? 2 : 1;
} finally {
  await cleanup.run();
}
