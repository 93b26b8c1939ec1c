// One target's measurement: it answers, its proxies' idle memory, a warm-up, saturation
// throughput (wrk), then latency at a fixed rate (hey) while the proxies' CPU time is read.
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
  /** vCPU-seconds per second, per 1000 req/s, during the fixed-rate run (absent without hey). */
  readonly cpuPer1000?: number;
  readonly rssIdleBytes: number;
  readonly rssPeakBytes: number;
}

export interface TargetResult {
  readonly name: TargetName;
  readonly wrk?: WrkResult;
  readonly hey?: HeyResult;
  readonly hops: readonly HopUsage[];
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

export async function measure(target: RunningTarget, ctx: MeasureContext): Promise<TargetResult> {
  const { settings: s, log } = ctx;
  // The first requests also wait for config to settle (skiff's client sidecar learns the echo
  // endpoint a moment after both are up).
  await waitFor(() => answers(target.load), {
    timeoutMs: 30_000,
    what: `${target.name} to answer 200 with the app's body at ${target.load.connectUrl}`,
    signal: ctx.cleanup.interrupted,
  });
  const rssIdle = target.hops.map((h) => rssBytes(h.pids));
  const sampler = new RssSampler(target.hops);
  let wrk: WrkResult | undefined;
  let hey: HeyResult | undefined;
  let cpu: number[] | undefined;
  try {
    if (ctx.wrk) {
      const script = target.load.proxiedUrl ? path.join(ctx.dir, 'forward-proxy.lua') : undefined;
      if (script) writeFileSync(script, wrkProxyScript(target.load.proxiedUrl!));
      const args = (seconds: number): string[] =>
        wrkArgs({
          threads: s.wrkThreads,
          connections: s.wrkConnections,
          seconds,
          url: target.load.connectUrl + '/',
          ...(script ? { script } : {}),
        });
      log(`  ${target.name}: warm-up, wrk ${s.warmupSeconds} s`);
      await runTool(ctx.wrk.path, args(s.warmupSeconds), ctx.cleanup);
      log(`  ${target.name}: saturation, wrk ${args(s.wrkSeconds).slice(0, 3).join(' ')}`);
      wrk = parseWrk(await runTool(ctx.wrk.path, args(s.wrkSeconds), ctx.cleanup));
    }
    if (ctx.hey) {
      const args = (seconds: number): string[] =>
        heyArgs({ workers: s.heyWorkers, rate: s.rate, seconds, target: target.load });
      if (!ctx.wrk) {
        log(`  ${target.name}: warm-up, hey ${s.warmupSeconds} s`);
        await runTool(ctx.hey.path, args(s.warmupSeconds), ctx.cleanup);
      }
      log(`  ${target.name}: ${s.rate} req/s, hey ${args(s.heySeconds).slice(0, 6).join(' ')}`);
      const before = target.hops.map((h) => cpuTicks(h.pids));
      const t0 = process.hrtime.bigint();
      const out = await runTool(ctx.hey.path, args(s.heySeconds), ctx.cleanup);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const after = target.hops.map((h) => cpuTicks(h.pids));
      hey = parseHey(out);
      const per1000 = hey.requestsPerSec / 1000;
      cpu = target.hops.map(
        (_, i) => (after[i]! - before[i]!) / ctx.clockTicks / seconds / per1000,
      );
    }
  } finally {
    sampler.stop();
  }
  const peaks = sampler.peaks;
  return {
    name: target.name,
    ...(wrk ? { wrk } : {}),
    ...(hey ? { hey } : {}),
    hops: target.hops.map((h, i) => ({
      label: h.label,
      ...(cpu ? { cpuPer1000: cpu[i]! } : {}),
      rssIdleBytes: rssIdle[i]!,
      rssPeakBytes: peaks[i]!,
    })),
  };
}
