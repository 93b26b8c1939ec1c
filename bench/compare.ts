// `npm run bench:compare -- --baseline DIR`: skiff against another checkout of itself (an
// earlier commit, built), for criteria such as issue 3's "the outbound proxy keeps its figures
// from the spine issue". Both sidecar pairs run at once; wrk loads one, then the other, the
// order alternating slice by slice, so whatever else the machine does weighs on both alike.
// Each slice gives what the spine's benchmark reported: throughput at saturation (wrk), then
// p50/p99 and CPU per 1000 req/s at a fixed 1000 req/s (hey), each sidecar's CPU from /proc
// (utime + stime), and RSS; the ratios reported are medians of the per-slice ratios. Saved
// outputs of several runs pool into one answer with bench/pool.ts.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Cleanup } from './cleanup.js';
import { heyArgs, parseHey, parseWrk, wrkArgs, wrkProxyScript } from './loadgen.js';
import { answers, median } from './measure.js';
import { clockTicksPerSecond, cpuTicks, rssBytes } from './procfs.js';

const MB = 1024 * 1024;
import type { RunningTarget } from './targets/types.js';

export interface CompareOptions {
  /** A built checkout of skiff (its dist/bench/targets/skiff.js) to compare against. */
  readonly baseline: string;
  /** The baseline's bench variant (an early checkout knows only `skiff`). */
  readonly baselineTarget: string;
  /** This checkout's variant. */
  readonly target: string;
  readonly slices: number;
  readonly seconds: number;
  /** Node/V8 flags for this checkout's skiff processes (to try a tuning against the baseline). */
  readonly nodeFlags: readonly string[];
}

export const COMPARE_USAGE = `usage: npm run bench:compare -- --baseline DIR [flags]
  --baseline DIR           a built checkout of skiff to compare with (git worktree add DIR <rev>;
                           cd DIR && npm ci && npm run build)
  --baseline-target NAME   the baseline's variant (default skiff)
  --target NAME            this checkout's variant (default skiff-rules)
  --slices N               alternating wrk slices per side (default 12)
  --seconds S              length of a slice (default 4)
  --node-flags "F ..."     node flags for this checkout's skiff processes`;

export function parseCompareArgs(argv: readonly string[]): CompareOptions {
  const o = {
    baseline: '',
    baselineTarget: 'skiff',
    target: 'skiff-rules',
    slices: 12,
    seconds: 4,
    nodeFlags: [] as string[],
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value\n${COMPARE_USAGE}`);
    i++;
    switch (flag) {
      case '--baseline':
        o.baseline = path.resolve(value);
        break;
      case '--baseline-target':
        o.baselineTarget = value;
        break;
      case '--target':
        o.target = value;
        break;
      case '--node-flags':
        o.nodeFlags = value.split(' ').filter(Boolean);
        break;
      case '--slices':
      case '--seconds': {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a whole number ≥ 1`);
        if (flag === '--slices') o.slices = n;
        else o.seconds = n;
        break;
      }
      default:
        throw new Error(`unknown flag ${flag}\n${COMPARE_USAGE}`);
    }
  }
  if (!o.baseline) throw new Error(`--baseline is required\n${COMPARE_USAGE}`);
  return o;
}

/** One slice of one side: throughput, and CPU µs per request of each sidecar (out, in). */
export interface Slice {
  readonly rps: number;
  readonly outUs: number;
  readonly inUs: number;
  /** Each sidecar's RSS at the slice's end (MB). */
  readonly outRssMb: number;
  readonly inRssMb: number;
  /** At the fixed rate: latency (ms) and each sidecar's vCPU per 1000 req/s. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly outCpuPer1k: number;
  readonly inCpuPer1k: number;
}

/**
 * A side's figures over its slices: medians, except RSS (the largest seen), plus the idle RSS
 * per sidecar right after its first answer, before any load (MB): the bench's idle RSS.
 */
export interface SideSummary extends Slice {
  readonly outIdleMb: number;
  readonly inIdleMb: number;
}

export interface Ratios {
  readonly rps: number;
  readonly outUs: number;
  readonly inUs: number;
  readonly p50: number;
  readonly p99: number;
  readonly outCpuPer1k: number;
  readonly inCpuPer1k: number;
  /** Per-slice throughput ratios, in slice order. */
  readonly rpsBySlice: readonly number[];
}

export function summarize(
  slices: readonly Slice[],
  idle: readonly [number, number] = [0, 0],
): SideSummary {
  return {
    outIdleMb: idle[0],
    inIdleMb: idle[1],
    rps: median(slices.map((s) => s.rps)) ?? 0,
    outUs: median(slices.map((s) => s.outUs)) ?? 0,
    inUs: median(slices.map((s) => s.inUs)) ?? 0,
    outRssMb: Math.max(0, ...slices.map((s) => s.outRssMb)),
    inRssMb: Math.max(0, ...slices.map((s) => s.inRssMb)),
    p50Ms: median(slices.map((s) => s.p50Ms)) ?? 0,
    p99Ms: median(slices.map((s) => s.p99Ms)) ?? 0,
    outCpuPer1k: median(slices.map((s) => s.outCpuPer1k)) ?? 0,
    inCpuPer1k: median(slices.map((s) => s.inCpuPer1k)) ?? 0,
  };
}

/** Subject ÷ baseline, slice by slice (slice i of each was measured back to back), medians. */
export function ratios(subject: readonly Slice[], baseline: readonly Slice[]): Ratios {
  const n = Math.min(subject.length, baseline.length);
  const per = (f: (s: Slice) => number): number[] =>
    Array.from({ length: n }, (_, i) => f(subject[i] as Slice) / f(baseline[i] as Slice));
  const rpsBySlice = per((s) => s.rps);
  return {
    rps: median(rpsBySlice) ?? 0,
    outUs: median(per((s) => s.outUs)) ?? 0,
    inUs: median(per((s) => s.inUs)) ?? 0,
    p50: median(per((s) => s.p50Ms)) ?? 0,
    p99: median(per((s) => s.p99Ms)) ?? 0,
    outCpuPer1k: median(per((s) => s.outCpuPer1k)) ?? 0,
    inCpuPer1k: median(per((s) => s.inCpuPer1k)) ?? 0,
    rpsBySlice,
  };
}

export function renderComparison(
  o: CompareOptions,
  base: SideSummary,
  subject: SideSummary,
  r: Ratios,
): string {
  const row = (name: string, s: SideSummary) =>
    `| ${name} | ${s.rps.toFixed(0)} | ${s.outUs.toFixed(1)} | ${s.inUs.toFixed(1)} | ` +
    `${s.p50Ms.toFixed(2)} / ${s.p99Ms.toFixed(2)} | ` +
    `${s.outCpuPer1k.toFixed(3)} / ${s.inCpuPer1k.toFixed(3)} | ` +
    `${s.outIdleMb.toFixed(1)} / ${s.inIdleMb.toFixed(1)} | ${s.outRssMb.toFixed(1)} / ${s.inRssMb.toFixed(1)} |`;
  return [
    `${o.slices} slices of ${o.seconds} s each side, alternating; medians.`,
    '',
    '| side | req/s | CPU µs/req outbound | CPU µs/req inbound | p50 / p99 ms at 1000 req/s | vCPU per 1000 req/s (out / in) | idle RSS MB (out / in) | peak RSS MB (out / in) |',
    '|---|---|---|---|---|---|---|---|',
    row(`baseline (${o.baselineTarget}, ${o.baseline})`, base),
    row(
      `this checkout (${o.target}${o.nodeFlags.length ? `, ${o.nodeFlags.join(' ')}` : ''})`,
      subject,
    ),
    '',
    `this ÷ baseline: throughput ${r.rps.toFixed(3)}×, CPU per request outbound ` +
      `${r.outUs.toFixed(3)}×, inbound ${r.inUs.toFixed(3)}×`,
    `at 1000 req/s: p50 ${r.p50.toFixed(3)}×, p99 ${r.p99.toFixed(3)}×, CPU per 1000 req/s ` +
      `outbound ${r.outCpuPer1k.toFixed(3)}×, inbound ${r.inCpuPer1k.toFixed(3)}×`,
    `idle RSS outbound ${(subject.outIdleMb / base.outIdleMb).toFixed(3)}×, inbound ` +
      `${(subject.inIdleMb / base.inIdleMb).toFixed(3)}×; peak RSS outbound ` +
      `${(subject.outRssMb / base.outRssMb).toFixed(3)}×, inbound ` +
      `${(subject.inRssMb / base.inRssMb).toFixed(3)}×`,
    `throughput ratio by slice: ${r.rpsBySlice.map((x) => x.toFixed(2)).join(' ')}`,
    '',
  ].join('\n');
}

interface Side {
  readonly label: string;
  readonly target: RunningTarget;
  readonly script: string;
  readonly slices: Slice[];
  /** RSS per sidecar after the first answer (MB). */
  idle: [number, number];
}

/** Both a checkout's startSkiffPair: `name` picks the variant (`rules` in early checkouts). */
type StartPair = (o: {
  dir: string;
  cleanup: Cleanup;
  name: string;
  rules: boolean;
  nodeFlags?: readonly string[];
}) => Promise<RunningTarget>;

async function startSide(
  tree: string,
  name: string,
  dir: string,
  cleanup: Cleanup,
  label: string,
  nodeFlags: readonly string[] = [],
): Promise<Side> {
  const file = path.join(tree, 'dist/bench/targets/skiff.js');
  if (!existsSync(file)) throw new Error(`${file} is missing: build that checkout first`);
  const mod = (await import(pathToFileURL(file).href)) as { startSkiffPair: StartPair };
  const sideDir = mkdtempSync(path.join(dir, `${label}-`));
  const target = await mod.startSkiffPair({
    dir: sideDir,
    cleanup,
    name,
    rules: name === 'skiff-rules',
    ...(nodeFlags.length ? { nodeFlags } : {}),
  });
  const script = path.join(sideDir, 'proxy.lua');
  writeFileSync(script, wrkProxyScript(target.load.proxiedUrl ?? ''));
  if (!(await answers(target.load))) throw new Error(`${label}: the mesh does not answer 200`);
  const [out, inbound] = target.hops.map((h) => rssBytes(h.pids) / MB);
  return { label, target, script, slices: [], idle: [out ?? 0, inbound ?? 0] };
}

function wrk(side: Side, seconds: number): ReturnType<typeof parseWrk> {
  const args = wrkArgs({
    threads: 1,
    connections: 32,
    seconds,
    url: `${side.target.load.connectUrl}/`,
    script: side.script,
  });
  return parseWrk(execFileSync('wrk', args, { encoding: 'utf8' }));
}

/** The spine's fixed rate: 1000 req/s from 10 workers (hey), as `npm run bench` runs it. */
const RATE = 1000;
const HEY_WORKERS = 10;

function measureSlice(side: Side, seconds: number, usPerTick: number): Slice {
  const [out = [], inbound = []] = side.target.hops.map((h) => h.pids);
  const cpu = (): [number, number] => [cpuTicks(out), cpuTicks(inbound)];
  let before = cpu();
  const r = wrk(side, seconds);
  let after = cpu();
  const n = Math.max(1, r.requests);
  const outUs = ((after[0] - before[0]) * usPerTick) / n;
  const inUs = ((after[1] - before[1]) * usPerTick) / n;
  const outRssMb = rssBytes(out) / MB;
  const inRssMb = rssBytes(inbound) / MB;
  before = cpu();
  const heyRun = parseHey(
    execFileSync(
      'hey',
      heyArgs({ workers: HEY_WORKERS, rate: RATE, seconds, target: side.target.load }),
      { encoding: 'utf8' },
    ),
  );
  after = cpu();
  // vCPU-seconds per second, per 1000 req/s achieved.
  const per1k = (ticks: number): number =>
    (ticks * usPerTick) / 1e6 / seconds / Math.max(0.001, heyRun.requestsPerSec / 1000);
  return {
    rps: r.requestsPerSec,
    outUs,
    inUs,
    outRssMb: Math.max(outRssMb, rssBytes(out) / MB),
    inRssMb: Math.max(inRssMb, rssBytes(inbound) / MB),
    p50Ms: (heyRun.percentiles.get(50) ?? 0) * 1000,
    p99Ms: (heyRun.percentiles.get(99) ?? 0) * 1000,
    outCpuPer1k: per1k(after[0] - before[0]),
    inCpuPer1k: per1k(after[1] - before[1]),
  };
}

async function main(): Promise<void> {
  const o = parseCompareArgs(process.argv.slice(2));
  const here = path.resolve(import.meta.dirname, '../..');
  const cleanup = new Cleanup();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-compare-'));
  process.once('SIGINT', () => void cleanup.run().finally(() => process.exit(130)));
  try {
    const base = await startSide(o.baseline, o.baselineTarget, dir, cleanup, 'baseline');
    const subject = await startSide(here, o.target, dir, cleanup, 'subject', o.nodeFlags);
    const sides = [base, subject];
    for (const s of sides) wrk(s, 5); // warm-up: JIT, pools
    const usPerTick = 1e6 / clockTicksPerSecond();
    for (let i = 0; i < o.slices; i++) {
      for (const s of i % 2 ? [...sides].reverse() : sides) {
        const slice = measureSlice(s, o.seconds, usPerTick);
        s.slices.push(slice);
        process.stderr.write(
          `${s.label} slice ${i + 1}: ${slice.rps.toFixed(0)} req/s, CPU µs/req ` +
            `out ${slice.outUs.toFixed(1)} in ${slice.inUs.toFixed(1)}; at ${RATE} req/s ` +
            `p50 ${slice.p50Ms.toFixed(2)} p99 ${slice.p99Ms.toFixed(2)} ms, vCPU per 1000 req/s ` +
            `out ${slice.outCpuPer1k.toFixed(3)} in ${slice.inCpuPer1k.toFixed(3)}\n`,
        );
      }
    }
    process.stdout.write(
      renderComparison(
        o,
        summarize(base.slices, base.idle),
        summarize(subject.slices, subject.idle),
        ratios(subject.slices, base.slices),
      ),
    );
  } finally {
    await cleanup.run();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
