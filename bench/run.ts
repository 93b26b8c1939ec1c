// `npm run bench`: direct, skiff's sidecar pair (its variants: default telemetry, no telemetry,
// all telemetry, a rule set), nginx and haproxy, all started first, then measured in interleaved
// rounds (forward order, then reverse, so that a slow drift of the machine's load weighs on
// every target alike); each target's figures are its rounds' medians. Then pairs of skiff's
// variants are measured head to head (report.ts's HEAD_TO_HEAD_PAIRS). Prints the markdown
// report and writes it to bench/results/.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PortAllocator } from '../src/launcher/ports.js';
import { SKIFF_VERSION } from '../src/xds/node.js';
import { Cleanup } from './cleanup.js';
import {
  combineRounds,
  measureRound,
  prepare,
  roundOrder,
  type MeasureContext,
  type PreparedTarget,
  type RoundResult,
  type TargetResult,
} from './measure.js';
import { BenchUsageError, parseBenchArgs, USAGE, type BenchOptions } from './options.js';
import { clockTicksPerSecond } from './procfs.js';
import { profileFileFor, readProfile, renderProfile, summarizeProfile } from './profile.js';
import { HEAD_TO_HEAD_PAIRS, renderReport, type RunInfo } from './report.js';
import { fetchRouteCost, type RouteCost } from './route-cost.js';
import { startApp, type StandaloneApp } from './targets/app.js';
import { startHaproxyPair } from './targets/haproxy.js';
import { startNginxPair } from './targets/nginx.js';
import { startSkiffPair, type SkiffTargetName } from './targets/skiff.js';
import { SKIFF_TARGETS, type RunningTarget, type TargetName } from './targets/types.js';
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
  if (SKIFF_TARGETS.includes(name)) {
    const target = await startSkiffPair({
      dir: path.join(dir, name),
      cleanup,
      name: name as SkiffTargetName,
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
  const tool = name === 'nginx' ? 'nginx' : 'haproxy';
  const pair = { dir, appPort, ports, cleanup, binary: tools.found.get(tool)?.path ?? tool };
  return tool === 'nginx' ? startNginxPair(pair) : startHaproxyPair(pair);
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

interface Live {
  readonly name: TargetName;
  target?: RunningTarget;
  prepared?: PreparedTarget;
  readonly rounds: RoundResult[];
  /** By the other target of the pair. */
  readonly headToHead: Partial<Record<TargetName, RoundResult[]>>;
  routeCost?: RouteCost;
  notes?: readonly string[];
  error?: string;
}

/** Starts every target, measures them round by round, stops them; a result per target. */
async function runTargets(names: readonly TargetName[], run: Run): Promise<TargetResult[]> {
  const live: Live[] = names.map((name) => ({ name, rounds: [], headToHead: {} }));
  const fail = (l: Live, err: unknown): void => {
    l.error = (err as Error).message;
    log(`bench: ${l.name} failed: ${l.error}`);
  };
  try {
    for (const l of live) {
      if (run.cleanup.interrupted.aborted) break;
      log(`bench: starting ${l.name}`);
      try {
        l.target = await startTarget(l.name, run);
        l.prepared = await prepare(l.target, run.ctx);
        // After the warm-up's traffic: is the target what its name says (telemetry, logs)?
        if (l.target.verify) {
          l.notes = await l.target.verify();
          for (const note of l.notes) log(`  ${l.name}: ${note}`);
        }
        if (l.target.outboundAdmin) {
          const cost = await fetchRouteCost(l.target.outboundAdmin).catch(() => undefined);
          if (cost) l.routeCost = cost;
        }
      } catch (err) {
        fail(l, err);
      }
    }
    for (let round = 0; round < run.opts.settings.rounds; round++) {
      for (const l of roundOrder(live, round)) {
        if (run.cleanup.interrupted.aborted) break;
        if (l.error || !l.prepared) continue;
        try {
          l.rounds.push(
            ...(await measureRound([l.prepared], run.ctx, `${l.name} round ${round + 1}`)),
          );
        } catch (err) {
          fail(l, err);
        }
      }
    }
    // Pairs of skiff's variants head to head: loaded at the same time, so that whatever else the
    // machine does weighs on both; their ratio is the variant's cost with the least noise.
    for (const [a, b] of HEAD_TO_HEAD_PAIRS) {
      const base = live.find((l) => l.name === a);
      const other = live.find((l) => l.name === b);
      const what = `${a} and ${b} head to head`;
      for (let round = 0; round < run.opts.settings.rounds; round++) {
        if (run.cleanup.interrupted.aborted || !base?.prepared || !other?.prepared) break;
        if (base.error || other.error) break;
        const pair = roundOrder([base, other], round);
        try {
          const out = await measureRound(
            pair.map((l) => l.prepared!),
            run.ctx,
            `${what}, round ${round + 1}`,
          );
          pair.forEach((l, i) => {
            const partner = pair[1 - i]!.name;
            (l.headToHead[partner] ??= []).push(out[i]!);
          });
        } catch (err) {
          log(`bench: ${what} failed: ${(err as Error).message}`);
          break;
        }
      }
    }
  } finally {
    for (const l of live) {
      await l.target?.stop();
      if (l.target && l.name.startsWith('skiff') && run.opts.profile) profileReport(run, l.target);
    }
  }
  return live.map((l) =>
    l.error || !l.prepared
      ? { name: l.name, hops: [], error: l.error ?? 'not measured' }
      : {
          ...combineRounds(l.prepared, l.rounds, l.headToHead),
          ...(l.routeCost ? { routeCost: l.routeCost } : {}),
          ...(l.notes?.length ? { notes: l.notes } : {}),
        },
  );
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
  const skipped: RunInfo['skipped'][number][] = [];
  const names: TargetName[] = [];
  for (const name of opts.targets) {
    const why = unavailable(name, tools);
    if (why) {
      log(`bench: skipping ${name}: ${why}`);
      skipped.push({ name, why });
    } else names.push(name);
  }
  const results = await runTargets(names, run);
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
  // A skiff target that failed (did not start, or is not configured as its name says).
  return results.some((r) => SKIFF_TARGETS.includes(r.name) && r.error) ? 1 : 0;
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
