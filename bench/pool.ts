// `node dist/bench/pool.js LOG...`: pools the slices of several saved `bench:compare` runs (their
// output, stderr included: `node dist/bench/compare.js ... > run.log 2>&1`). One run's twelve
// slices leave its medians at the machine's mercy; the per-slice ratios (slice i of the subject
// ÷ slice i of the baseline, measured back to back) of many runs give a median with a bootstrap
// interval, a steadier answer to "within 10%?".
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
  /** vCPU per 1000 req/s, outbound; absent in logs written before it was printed. */
  readonly outCpuPer1k?: number;
}

export type Figure = 'rps' | 'outUs' | 'inUs' | 'p50Ms' | 'p99Ms' | 'outCpuPer1k';
export const FIGURES: readonly Figure[] = ['rps', 'outUs', 'inUs', 'p50Ms', 'p99Ms', 'outCpuPer1k'];

const SLICE_LINE =
  /^(baseline|subject) slice (\d+): ([\d.]+) req\/s, CPU µs\/req out ([\d.]+) in ([\d.]+); at \d+ req\/s p50 ([\d.]+) p99 ([\d.]+) ms(?:, vCPU per 1000 req\/s out ([\d.]+))?/;

/** Slice i of each side, paired, from one run's output. */
export function parseCompareLog(text: string): [LoggedSlice, LoggedSlice][] {
  const sides = {
    baseline: new Map<number, LoggedSlice>(),
    subject: new Map<number, LoggedSlice>(),
  };
  for (const line of text.split('\n')) {
    const m = SLICE_LINE.exec(line);
    if (!m) continue;
    const slice: LoggedSlice = {
      rps: Number(m[3]),
      outUs: Number(m[4]),
      inUs: Number(m[5]),
      p50Ms: Number(m[6]),
      p99Ms: Number(m[7]),
      ...(m[8] !== undefined ? { outCpuPer1k: Number(m[8]) } : {}),
    };
    sides[m[1] as 'baseline' | 'subject'].set(Number(m[2]), slice);
  }
  const pairs: [LoggedSlice, LoggedSlice][] = [];
  for (const [i, subject] of sides.subject) {
    const base = sides.baseline.get(i);
    if (base) pairs.push([subject, base]);
  }
  return pairs;
}

export interface Pooled {
  readonly pairs: number;
  readonly median: number;
  /** 90% bootstrap interval of the median. */
  readonly low: number;
  readonly high: number;
  /** The share of pairs whose ratio is above 1.10. */
  readonly over10: number;
}

/** A small seeded generator (mulberry32): the same logs give the same interval. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Subject ÷ baseline for one figure over every pair that has it; undefined if none does. */
export function pool(
  pairs: readonly [LoggedSlice, LoggedSlice][],
  figure: Figure,
  resamples = 2000,
): Pooled | undefined {
  const ratios: number[] = [];
  for (const [s, b] of pairs) {
    const x = s[figure];
    const y = b[figure];
    if (x !== undefined && y !== undefined && y > 0) ratios.push(x / y);
  }
  if (ratios.length === 0) return undefined;
  const random = seeded(ratios.length);
  const medians: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const sample = ratios.map(() => ratios[Math.floor(random() * ratios.length)] as number);
    medians.push(median(sample) as number);
  }
  medians.sort((a, b) => a - b);
  return {
    pairs: ratios.length,
    median: median(ratios) as number,
    low: medians[Math.floor(resamples * 0.05)] as number,
    high: medians[Math.floor(resamples * 0.95)] as number,
    over10: ratios.filter((x) => x > 1.1).length / ratios.length,
  };
}

const LABELS: Record<Figure, string> = {
  rps: 'throughput',
  outUs: 'CPU per request, outbound',
  inUs: 'CPU per request, inbound',
  p50Ms: 'p50 at 1000 req/s',
  p99Ms: 'p99 at 1000 req/s',
  outCpuPer1k: 'CPU per 1000 req/s, outbound',
};

export function renderPooled(runs: number, pairs: readonly [LoggedSlice, LoggedSlice][]): string {
  const lines = [
    `${runs} runs, ${pairs.length} slice pairs; subject ÷ baseline per pair:`,
    '',
    '| figure | pairs | median | 90% interval | pairs over 1.10× |',
    '|---|---|---|---|---|',
  ];
  for (const f of FIGURES) {
    const p = pool(pairs, f);
    if (!p) continue;
    lines.push(
      `| ${LABELS[f]} | ${p.pairs} | ${p.median.toFixed(3)}× | ${p.low.toFixed(3)}×–${p.high.toFixed(3)}× | ${(p.over10 * 100).toFixed(0)}% |`,
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
  const pairs = files.flatMap((f) => parseCompareLog(readFileSync(f, 'utf8')));
  process.stdout.write(renderPooled(files.length, pairs));
}
