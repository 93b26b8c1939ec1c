// `node dist/bench/pool.js LOG...`: pools several saved `bench:compare` runs (their output,
// stderr included: `node dist/bench/compare.js ... > run.log 2>&1`). One run's twelve slices
// leave its medians at the machine's mercy. Two views of many runs answer "within 10%?" more
// steadily:
// - by run: each run's median ratio (slice i of the subject ÷ slice i of the baseline, measured
//   back to back), then the median of those, with a 90% interval. Runs are the independent
//   samples here: the machine's state carries over from slice to slice within a run.
// - by slice pair: every pair of every run pooled. Narrower, but it treats the pairs of one run
//   as independent, which they are not quite.
// Both intervals are distribution-free (order statistics with binomial coverage).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { median } from './measure.js';

/** One slice of one side, as compare.ts prints it. */
export interface LoggedSlice {
  readonly rps: number;
  readonly outUs: number;
  readonly inUs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** vCPU per 1000 req/s; absent in logs written before compare.ts printed it. */
  readonly outCpuPer1k?: number;
  readonly inCpuPer1k?: number;
}

export type Figure = keyof LoggedSlice;
export const FIGURES: readonly Figure[] = [
  'rps',
  'outUs',
  'inUs',
  'p50Ms',
  'p99Ms',
  'outCpuPer1k',
  'inCpuPer1k',
];

const NUMBER = String.raw`(\d+(?:\.\d+)?)`;
const SLICE_LINE = new RegExp(
  String.raw`^(baseline|subject) slice (\d+): ${NUMBER} req/s, CPU µs/req out ${NUMBER} in ${NUMBER}; ` +
    String.raw`at \d+ req/s p50 ${NUMBER} p99 ${NUMBER} ms` +
    String.raw`(?:, vCPU per 1000 req/s out ${NUMBER} in ${NUMBER})?$`,
);

/** Slice i of each side, paired, from one run's output. Throws on what it cannot read. */
export function parseCompareLog(text: string, file = 'the log'): [LoggedSlice, LoggedSlice][] {
  const sides = {
    baseline: new Map<number, LoggedSlice>(),
    subject: new Map<number, LoggedSlice>(),
  };
  text.split('\n').forEach((line, i) => {
    if (!/^(baseline|subject) slice /.test(line)) return;
    const m = SLICE_LINE.exec(line);
    if (!m) throw new Error(`${file}:${i + 1}: not a slice line compare.ts writes: ${line}`);
    const side = sides[m[1] as 'baseline' | 'subject'];
    const n = Number(m[2]);
    if (side.has(n)) throw new Error(`${file}:${i + 1}: ${m[1]} slice ${n} again (two runs?)`);
    side.set(n, {
      rps: Number(m[3]),
      outUs: Number(m[4]),
      inUs: Number(m[5]),
      p50Ms: Number(m[6]),
      p99Ms: Number(m[7]),
      ...(m[8] !== undefined ? { outCpuPer1k: Number(m[8]), inCpuPer1k: Number(m[9]) } : {}),
    });
  });
  const pairs: [LoggedSlice, LoggedSlice][] = [];
  for (const [i, subject] of sides.subject) {
    const base = sides.baseline.get(i);
    if (base) pairs.push([subject, base]);
  }
  return pairs;
}

/** Subject ÷ baseline of one figure, for every pair that has it. */
export function ratiosOf(pairs: readonly [LoggedSlice, LoggedSlice][], figure: Figure): number[] {
  const out: number[] = [];
  for (const [s, b] of pairs) {
    const x = s[figure];
    const y = b[figure];
    if (x !== undefined && y !== undefined && y > 0) out.push(x / y);
  }
  return out;
}

/** log C(n, k), by sums of logs (n stays small: slice pairs or runs). */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/**
 * The widest-inside interval [x(j), x(n+1−j)] (1-based order statistics) that covers the median
 * with at least `level` probability: coverage 1 − 2·P(Binomial(n, ½) < j). Undefined when even
 * [min, max] covers less (n < 5 at 90%).
 */
export function medianInterval(
  sorted: readonly number[],
  level = 0.9,
): [number, number] | undefined {
  const n = sorted.length;
  let below = 0; // P(B ≤ j − 1)
  let best: number | undefined;
  for (let j = 1; j <= Math.ceil(n / 2); j++) {
    below += Math.exp(logChoose(n, j - 1) - n * Math.LN2);
    if (1 - 2 * below < level) break;
    best = j;
  }
  if (best === undefined) return undefined;
  return [sorted[best - 1] as number, sorted[n - best] as number];
}

/** The side where a figure is worse: throughput lower, everything else higher. */
const worse = (figure: Figure, ratio: number): boolean =>
  figure === 'rps' ? ratio < 1 / 1.1 : ratio > 1.1;

export interface Pooled {
  readonly n: number;
  readonly median: number;
  /** A 90% confidence interval of the median; undefined with too few samples. */
  readonly interval: [number, number] | undefined;
  /** The share of samples more than 10% worse (throughput below 1/1.1, the rest above 1.1). */
  readonly worse10: number;
}

export function summarizeRatios(ratios: readonly number[], figure: Figure): Pooled | undefined {
  if (ratios.length === 0) return undefined;
  const sorted = [...ratios].sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: median(sorted) as number,
    interval: medianInterval(sorted),
    worse10: sorted.filter((x) => worse(figure, x)).length / sorted.length,
  };
}

const LABELS: Record<Figure, string> = {
  rps: 'throughput',
  outUs: 'CPU per request, outbound',
  inUs: 'CPU per request, inbound',
  p50Ms: 'p50 at 1000 req/s',
  p99Ms: 'p99 at 1000 req/s',
  outCpuPer1k: 'CPU per 1000 req/s, outbound',
  inCpuPer1k: 'CPU per 1000 req/s, inbound',
};

const times = (x: number) => `${x.toFixed(3)}×`;

export function renderPooled(runs: readonly [LoggedSlice, LoggedSlice][][]): string {
  const pairs = runs.flat();
  const lines = [
    `${runs.length} runs, ${pairs.length} slice pairs; subject ÷ baseline. "worse": more than 10%`,
    'worse (throughput below 0.909×, the rest above 1.100×).',
    '',
    '| figure | runs | median of run medians | 90% interval | runs worse | pairs | median of pairs | 90% interval | pairs worse |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const f of FIGURES) {
    const perRun = runs.map((r) => median(ratiosOf(r, f))).filter((x) => x !== undefined);
    const byRun = summarizeRatios(perRun, f);
    const byPair = summarizeRatios(ratiosOf(pairs, f), f);
    if (!byRun || !byPair) continue;
    const span = (p: Pooled) =>
      p.interval ? `${times(p.interval[0])}–${times(p.interval[1])}` : '(too few)';
    lines.push(
      `| ${LABELS[f]} | ${byRun.n} | ${times(byRun.median)} | ${span(byRun)} | ` +
        `${(byRun.worse10 * 100).toFixed(0)}% | ${byPair.n} | ${times(byPair.median)} | ` +
        `${span(byPair)} | ${(byPair.worse10 * 100).toFixed(0)}% |`,
    );
  }
  return lines.join('\n') + '\n';
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    process.stderr.write('usage: node dist/bench/pool.js COMPARE_LOG...\n');
    process.exit(2);
  }
  try {
    process.stdout.write(
      renderPooled(files.map((f) => parseCompareLog(readFileSync(f, 'utf8'), f))),
    );
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
