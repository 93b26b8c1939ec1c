// The load generators (wrk for saturation throughput, hey for latency at a fixed rate): their
// command lines, running them to completion, and reading the figures out of what they print.
import { spawn } from 'node:child_process';
import type { Cleanup } from './cleanup.js';

/** Where load goes: straight to the app, or through an HTTP proxy in forward-proxy form. */
export interface LoadTarget {
  /** `http://127.0.0.1:<port>` the load generator connects to. */
  readonly connectUrl: string;
  /** Set for proxies: the absolute URL put in the request line (`http://echo:9080/`). */
  readonly proxiedUrl?: string;
}

export interface WrkResult {
  readonly requestsPerSec: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly socketErrors: number;
}

export interface HeyResult {
  readonly requestsPerSec: number;
  /** Percentile (10, 25, 50, 75, 90, 95, 99) → seconds; hey prints them to 0.1 ms. */
  readonly percentiles: ReadonlyMap<number, number>;
  readonly responses: number;
  /** Responses whose status is not 2xx, plus transport errors. */
  readonly failures: number;
}

export class LoadGenError extends Error {
  readonly code = 'ERR_LOADGEN';
}

/** wrk's Lua script for forward-proxy form: the absolute URL in the request line, its Host. */
export function wrkProxyScript(proxiedUrl: string): string {
  const host = new URL(proxiedUrl).host;
  return `wrk.path = ${JSON.stringify(proxiedUrl)}\nwrk.headers["Host"] = ${JSON.stringify(host)}\n`;
}

export function wrkArgs(o: {
  threads: number;
  connections: number;
  seconds: number;
  url: string;
  script?: string;
}): string[] {
  return [
    `-t${o.threads}`,
    `-c${o.connections}`,
    `-d${o.seconds}s`,
    ...(o.script ? ['-s', o.script] : []),
    o.url,
  ];
}

/** `hey` at `rate` req/s overall: -q is a per-worker rate, so rate / workers each. */
export function heyArgs(o: {
  workers: number;
  rate: number;
  seconds: number;
  target: LoadTarget;
}): string[] {
  const perWorker = o.rate / o.workers;
  const { connectUrl, proxiedUrl } = o.target;
  return [
    ...['-z', `${o.seconds}s`],
    ...['-c', String(o.workers)],
    ...['-q', String(perWorker)],
    ...(proxiedUrl ? ['-x', connectUrl, proxiedUrl] : [`${connectUrl}/`]),
  ];
}

/** Reads wrk's summary; throws when it holds no request rate. */
export function parseWrk(out: string): WrkResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(out);
  const total = /^\s*(\d+) requests in /m.exec(out);
  if (!rps || !total) throw new LoadGenError(`wrk printed no request rate:\n${out.trim()}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requestsPerSec: Number(rps[1]),
    requests: Number(total[1]),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
  };
}

/** Reads hey's summary; throws when it has no latency distribution (nothing succeeded). */
export function parseHey(out: string): HeyResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const percentiles = new Map<number, number>();
  for (const m of out.matchAll(/^\s+(\d+)% in ([\d.]+) secs/gm)) {
    const p = Number(m[1]);
    // hey prints "0% in 0.0000 secs" for percentiles it has no data for.
    if (p > 0) percentiles.set(p, Number(m[2]));
  }
  if (!rps || !percentiles.has(50) || !percentiles.has(99)) {
    throw new LoadGenError(`hey printed no latency distribution:\n${out.trim()}`);
  }
  let responses = 0;
  let failures = 0;
  const statuses = /Status code distribution:\n([\s\S]*?)(?:\n\s*\n|$)/.exec(out)?.[1] ?? '';
  for (const m of statuses.matchAll(/\[(\d+)\]\s+(\d+) responses/g)) {
    const n = Number(m[2]);
    responses += n;
    if (!m[1]!.startsWith('2')) failures += n;
  }
  const errors = /Error distribution:\n([\s\S]*?)(?:\n\s*\n|$)/.exec(out)?.[1] ?? '';
  for (const m of errors.matchAll(/^\s+\[(\d+)\]/gm)) failures += Number(m[1]);
  return { requestsPerSec: Number(rps[1]), percentiles, responses, failures };
}

/** Runs a load generator to completion and returns its stdout; killed if the run is stopped. */
export function runTool(file: string, args: readonly string[], cleanup: Cleanup): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const kill = cleanup.add(`${file} (pid ${child.pid})`, () => {
      child.kill('SIGKILL');
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', (e) => {
      kill.drop();
      reject(new LoadGenError(`${file}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      kill.drop(); // it exited: nothing to kill any more
      if (code === 0) resolve(out);
      else {
        const how = signal ? `signal ${signal}` : `code ${code}`;
        reject(
          new LoadGenError(`${file} ${args.join(' ')} exited with ${how}: ${(err || out).trim()}`),
        );
      }
    });
  });
}
