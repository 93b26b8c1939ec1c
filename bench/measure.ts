// One target's measurement: it answers, its proxies' idle memory, a warm-up, then rounds of
// saturation throughput (wrk) and latency at a fixed rate (hey) while the proxies' CPU time is
// read. run.ts interleaves the rounds of all targets; a target's figures are their medians.
import http from 'node:http';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { waitFor } from '../src/launcher/wait.js';
import type { Cleanup } from './cleanup.js';
import {
  heyArgs,
  parseHey,
  parseWrk,
  runTool,
  wrkArgs,
  wrkProxyScript,
  type HeyResult,
  type LoadTarget,
  type WrkResult,
} from './loadgen.js';
import { cpuTicks, rssBytes } from './procfs.js';
import type { RouteCost } from './route-cost.js';
import { APP_BODY } from './targets/app.js';
import type { ProxyHop, RunningTarget, TargetName } from './targets/types.js';
import type { Tool } from './tools.js';

export interface LoadSettings {
  readonly warmupSeconds: number;
  readonly wrkThreads: number;
  readonly wrkConnections: number;
  readonly wrkSeconds: number;
  readonly heyWorkers: number;
  /** The fixed rate of the latency run, requests per second overall. */
  readonly rate: number;
  readonly heySeconds: number;
  /** Rounds per target, interleaved with the other targets' rounds. */
  readonly rounds: number;
}

export interface MeasureContext {
  readonly settings: LoadSettings;
  readonly wrk: Tool | undefined;
  readonly hey: Tool | undefined;
  /** Where the wrk script goes. */
  readonly dir: string;
  readonly cleanup: Cleanup;
  readonly clockTicks: number;
  readonly log: (line: string) => void;
}

export interface HopUsage {
  readonly label: ProxyHop['label'];
  /**
   * vCPU-seconds per second, per 1000 req/s, during the fixed-rate run (absent without hey);
   * the median over the rounds.
   */
  readonly cpuPer1000?: number;
  /** The same during the saturation run (wrk): CPU-seconds per 1000 requests. */
  readonly saturationCpuPer1000?: number;
  readonly rssIdleBytes: number;
  readonly rssPeakBytes: number;
}

/** One round's headline figures for a target, to pair rounds of two targets (their ratios). */
export interface RoundFigures {
  readonly rps?: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  /** Mean over the target's proxies. */
  readonly cpuPerProxy?: number;
  readonly saturationCpuPerProxy?: number;
  /** The outbound proxy alone (the one that carries the rules). */
  readonly cpuOutbound?: number;
  readonly saturationCpuOutbound?: number;
}

export interface TargetResult {
  readonly name: TargetName;
  /** Medians over the rounds (counts of requests and errors: sums). */
  readonly wrk?: WrkResult;
  readonly hey?: HeyResult;
  readonly hops: readonly HopUsage[];
  /** Each round's figures, in the order of the rounds. */
  readonly rounds?: readonly RoundFigures[];
  /**
   * skiff's variants only, by the other target of the pair: rounds in which the two were loaded
   * at the same time, each by its own load generators (not in the medians above: two targets
   * share the machine). Round i of a.headToHead[b] ran beside round i of b.headToHead[a].
   */
  readonly headToHead?: Readonly<Partial<Record<TargetName, readonly RoundFigures[]>>>;
  /** What the target's check found after the warm-up (e.g. access log lines, spans). */
  readonly notes?: readonly string[];
  /** skiff: route lookup for the benchmark's request, timed on the outbound's own config. */
  readonly routeCost?: RouteCost;
  /** Why the target could not be measured (it did not start, a tool failed). */
  readonly error?: string;
}

/** GET the app's body through the target; true on 200 with the app's body. */
export function answers(load: LoadTarget): Promise<boolean> {
  const via = new URL(load.connectUrl);
  const target = new URL(load.proxiedUrl ?? `${load.connectUrl}/`);
  return new Promise((resolve) => {
    const req = http.get(
      {
        host: via.hostname,
        port: via.port,
        path: load.proxiedUrl ?? '/',
        headers: { host: target.host },
        agent: false,
        timeout: 2000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(res.statusCode === 200 && body === APP_BODY));
        res.on('error', () => resolve(false));
      },
    );
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
  });
}

/** Peak resident memory of each hop, sampled while the load runs. */
class RssSampler {
  readonly peaks: number[];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly hops: readonly ProxyHop[]) {
    this.peaks = hops.map((h) => rssBytes(h.pids));
    this.timer = setInterval(() => this.sample(), 200);
  }

  private sample(): void {
    this.hops.forEach((h, i) => (this.peaks[i] = Math.max(this.peaks[i]!, rssBytes(h.pids))));
  }

  stop(): number[] {
    clearInterval(this.timer);
    this.sample();
    return this.peaks;
  }
}

/** The median of some numbers (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** The forward order on even rounds, the reverse on odd ones: A B C, C B A, A B C, ... */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  return round % 2 ? [...items].reverse() : [...items];
}

/** A target that answers, warmed up, ready for its rounds. */
export interface PreparedTarget {
  readonly target: RunningTarget;
  readonly rssIdle: readonly number[];
  /** wrk's Lua script for forward-proxy form, when the target is a proxy. */
  readonly script: string | undefined;
}

/** One round of a target: its saturation run and its fixed-rate run. */
export interface RoundResult {
  readonly wrk?: WrkResult;
  readonly hey?: HeyResult;
  /** Per hop, as HopUsage. */
  readonly cpuPer1000?: readonly number[];
  readonly saturationCpuPer1000?: readonly number[];
  readonly rssPeak: readonly number[];
}

function wrkArgsFor(p: PreparedTarget, s: LoadSettings, seconds: number): string[] {
  return wrkArgs({
    threads: s.wrkThreads,
    connections: s.wrkConnections,
    seconds,
    url: p.target.load.connectUrl + '/',
    ...(p.script ? { script: p.script } : {}),
  });
}

function heyArgsFor(p: PreparedTarget, s: LoadSettings, seconds: number): string[] {
  return heyArgs({ workers: s.heyWorkers, rate: s.rate, seconds, target: p.target.load });
}

/** Waits until the target answers, reads its proxies' idle memory, warms it up. */
export async function prepare(target: RunningTarget, ctx: MeasureContext): Promise<PreparedTarget> {
  const { settings: s, log } = ctx;
  // The first requests also wait for config to settle (skiff's client sidecar learns the echo
  // endpoint a moment after both are up).
  await waitFor(() => answers(target.load), {
    timeoutMs: 30_000,
    what: `${target.name} to answer 200 with the app's body at ${target.load.connectUrl}`,
    signal: ctx.cleanup.interrupted,
  });
  const rssIdle = target.hops.map((h) => rssBytes(h.pids));
  const script = target.load.proxiedUrl
    ? path.join(ctx.dir, `forward-proxy-${target.name}.lua`)
    : undefined;
  if (script) writeFileSync(script, wrkProxyScript(target.load.proxiedUrl!));
  const prepared: PreparedTarget = { target, rssIdle, script };
  if (ctx.wrk) {
    log(`  ${target.name}: warm-up, wrk ${s.warmupSeconds} s`);
    await runTool(ctx.wrk.path, wrkArgsFor(prepared, s, s.warmupSeconds), ctx.cleanup);
  } else if (ctx.hey) {
    log(`  ${target.name}: warm-up, hey ${s.warmupSeconds} s`);
    await runTool(ctx.hey.path, heyArgsFor(prepared, s, s.warmupSeconds), ctx.cleanup);
  }
  return prepared;
}

/** CPU-seconds of each hop per second per 1000 req/s, between two readings of its ticks. */
function cpuPer1000(
  before: readonly number[],
  after: readonly number[],
  clockTicks: number,
  seconds: number,
  requestsPerSec: number,
): number[] {
  return before.map((b, i) => (after[i]! - b) / clockTicks / seconds / (requestsPerSec / 1000));
}

/** A load generator run against a target, with its proxies' CPU-seconds per 1000 requests. */
async function loaded<T extends WrkResult | HeyResult>(
  p: PreparedTarget,
  ctx: MeasureContext,
  tool: Tool,
  args: readonly string[],
  parse: (out: string) => T,
): Promise<{ result: T; cpu: number[] }> {
  const ticks = (): number[] => p.target.hops.map((h) => cpuTicks(h.pids));
  const before = ticks();
  const t0 = process.hrtime.bigint();
  const out = await runTool(tool.path, args, ctx.cleanup);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const after = ticks();
  const result = parse(out);
  // wrk: its requests over the run; hey: the rate it reached.
  const rate = 'requests' in result ? result.requests / seconds : result.requestsPerSec;
  return { result, cpu: cpuPer1000(before, after, ctx.clockTicks, seconds, rate) };
}

/**
 * Saturation throughput (wrk), then latency and CPU at a fixed rate (hey), of one target; or of
 * several at once (head to head: each gets its own load generators, started together, so the
 * machine's load at the time weighs on all of them alike).
 */
export async function measureRound(
  targets: readonly PreparedTarget[],
  ctx: MeasureContext,
  what: string,
): Promise<RoundResult[]> {
  const { settings: s, log } = ctx;
  const samplers = targets.map((p) => new RssSampler(p.target.hops));
  const wrk: ({ result: WrkResult; cpu: number[] } | undefined)[] = [];
  const hey: ({ result: HeyResult; cpu: number[] } | undefined)[] = [];
  try {
    if (ctx.wrk) {
      const tool = ctx.wrk;
      const args = targets.map((p) => wrkArgsFor(p, s, s.wrkSeconds));
      log(`  ${what}: saturation, wrk ${args[0]!.slice(0, 3).join(' ')}`);
      wrk.push(
        ...(await Promise.all(targets.map((p, i) => loaded(p, ctx, tool, args[i]!, parseWrk)))),
      );
    }
    if (ctx.hey) {
      const tool = ctx.hey;
      const args = targets.map((p) => heyArgsFor(p, s, s.heySeconds));
      log(`  ${what}: ${s.rate} req/s, hey ${args[0]!.slice(0, 6).join(' ')}`);
      hey.push(
        ...(await Promise.all(targets.map((p, i) => loaded(p, ctx, tool, args[i]!, parseHey)))),
      );
    }
  } finally {
    for (const sampler of samplers) sampler.stop();
  }
  return targets.map((_, i) => {
    const w = wrk[i];
    const h = hey[i];
    return {
      ...(w ? { wrk: w.result, saturationCpuPer1000: w.cpu } : {}),
      ...(h ? { hey: h.result, cpuPer1000: h.cpu } : {}),
      rssPeak: samplers[i]!.peaks,
    };
  });
}

const defined = <T>(v: readonly (T | undefined)[]): T[] => v.filter((x): x is T => x !== undefined);
const mean = (v: readonly number[]): number | undefined =>
  v.length ? v.reduce((a, b) => a + b, 0) / v.length : undefined;

function figures(r: RoundResult): RoundFigures {
  const out: Record<string, number | undefined> = {
    rps: r.wrk?.requestsPerSec,
    p50Ms: r.hey ? (r.hey.percentiles.get(50) ?? NaN) * 1000 : undefined,
    p99Ms: r.hey ? (r.hey.percentiles.get(99) ?? NaN) * 1000 : undefined,
    cpuPerProxy: r.cpuPer1000 ? mean(r.cpuPer1000) : undefined,
    saturationCpuPerProxy: r.saturationCpuPer1000 ? mean(r.saturationCpuPer1000) : undefined,
    cpuOutbound: r.cpuPer1000?.[0],
    saturationCpuOutbound: r.saturationCpuPer1000?.[0],
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

/** A target's result from its rounds: medians, error counts summed, the largest peak RSS. */
export function combineRounds(
  p: PreparedTarget,
  rounds: readonly RoundResult[],
  headToHead: Readonly<Partial<Record<TargetName, readonly RoundResult[]>>> = {},
): TargetResult {
  const { target } = p;
  const wrks = defined(rounds.map((r) => r.wrk));
  const heys = defined(rounds.map((r) => r.hey));
  const sum = <T>(v: readonly T[], f: (x: T) => number): number => v.reduce((a, x) => a + f(x), 0);
  const wrk: WrkResult | undefined = wrks.length
    ? {
        requestsPerSec: median(wrks.map((w) => w.requestsPerSec))!,
        requests: sum(wrks, (w) => w.requests),
        non2xx: sum(wrks, (w) => w.non2xx),
        socketErrors: sum(wrks, (w) => w.socketErrors),
      }
    : undefined;
  let hey: HeyResult | undefined;
  if (heys.length) {
    const percentiles = new Map<number, number>();
    for (const pct of heys[0]!.percentiles.keys()) {
      const m = median(defined(heys.map((h) => h.percentiles.get(pct))));
      if (m !== undefined) percentiles.set(pct, m);
    }
    hey = {
      requestsPerSec: median(heys.map((h) => h.requestsPerSec))!,
      percentiles,
      responses: sum(heys, (h) => h.responses),
      failures: sum(heys, (h) => h.failures),
    };
  }
  return {
    name: target.name,
    ...(wrk ? { wrk } : {}),
    ...(hey ? { hey } : {}),
    hops: target.hops.map((h, i) => {
      const cpu = median(defined(rounds.map((r) => r.cpuPer1000?.[i])));
      const sat = median(defined(rounds.map((r) => r.saturationCpuPer1000?.[i])));
      return {
        label: h.label,
        ...(cpu !== undefined ? { cpuPer1000: cpu } : {}),
        ...(sat !== undefined ? { saturationCpuPer1000: sat } : {}),
        rssIdleBytes: p.rssIdle[i]!,
        rssPeakBytes: Math.max(p.rssIdle[i]!, ...rounds.map((r) => r.rssPeak[i] ?? 0)),
      };
    }),
    rounds: rounds.map(figures),
    ...(Object.keys(headToHead).length
      ? {
          headToHead: Object.fromEntries(
            Object.entries(headToHead).map(([other, r]) => [other, r.map(figures)]),
          ),
        }
      : {}),
  };
}
