// `npm run bench -- [flags]`: what to run and how hard, parsed into one options object.
import { parseArgs } from 'node:util';
import type { LoadSettings } from './measure.js';
import { TARGET_NAMES, type TargetName } from './targets/types.js';

export interface BenchOptions {
  readonly targets: readonly TargetName[];
  readonly settings: LoadSettings;
  /** Where the markdown report is written (relative to the repository). */
  readonly out: string;
  /** Run skiff under `node --cpu-prof` and summarize its sidecars' profiles. */
  readonly profile: boolean;
  /** Extra node flags for skiff's processes. */
  readonly skiffNodeFlags: readonly string[];
  /** Keep the run's temp dir (configs, logs, profiles). */
  readonly keep: boolean;
  readonly verbose: boolean;
  readonly help: boolean;
}

export class BenchUsageError extends Error {
  readonly code = 'ERR_BENCH_USAGE';
}

export const USAGE = `usage: npm run bench -- [flags]

Starts direct, skiff's sidecar pair (skiff: Istio's defaults, default telemetry and auto mTLS;
skiff-plaintext: mTLS off; skiff-bare: no telemetry; skiff-telemetry: metrics, access logs and
1% tracing; skiff-rules: a rule set, plaintext; skiff-secure: STRICT mTLS on every hop and an
ALLOW AuthorizationPolicy), nginx and haproxy (two hops each), then measures them in
interleaved rounds (forward order, then
reverse, ...), then pairs of skiff's variants head to head, and prints a markdown report of
each target's medians and of each variant's ratios (also written to --out).

  --targets LIST         comma-separated, of ${TARGET_NAMES.join(',')} (default: all)
  --rounds N             rounds per target and per head-to-head pair (default 4)
  --warmup SECONDS       wrk warm-up per target, once before the rounds (default 3)
  --duration SECONDS     wrk saturation run per round (default 3)
  --threads N            wrk threads (default 1)
  --connections N        wrk connections (default 32)
  --rate N               hey's fixed rate, req/s overall (default 1000)
  --workers N            hey workers (default 10; each sends rate/workers req/s)
  --latency-duration S   hey run per round (default 3)
  --out FILE             report file (default bench/results/latest.md)
  --profile              run skiff under node --cpu-prof, print its sidecars' top functions
  --skiff-node-flags=F   more node flags for skiff's processes, space-separated, after
                         an = (e.g. --skiff-node-flags=--max-semi-space-size=2)
  --keep                 keep the temp dir (configs, logs, profiles)
  --verbose              echo the mesh's process output
  --help
`;

function positive(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new BenchUsageError(`--${flag}: ${JSON.stringify(value)} is not a positive number`);
  }
  return n;
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        targets: { type: 'string' },
        warmup: { type: 'string' },
        duration: { type: 'string' },
        threads: { type: 'string' },
        connections: { type: 'string' },
        rate: { type: 'string' },
        workers: { type: 'string' },
        rounds: { type: 'string' },
        'latency-duration': { type: 'string' },
        out: { type: 'string' },
        profile: { type: 'boolean' },
        'skiff-node-flags': { type: 'string' },
        keep: { type: 'boolean' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new BenchUsageError((err as Error).message);
  }
  const targets = (parsed.targets ?? TARGET_NAMES.join(','))
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  for (const t of targets) {
    if (!TARGET_NAMES.includes(t as TargetName)) {
      throw new BenchUsageError(
        `--targets: ${JSON.stringify(t)} is not one of ${TARGET_NAMES.join(', ')}`,
      );
    }
  }
  return {
    // Always in the canonical order: direct first, it is what the others are compared with.
    targets: TARGET_NAMES.filter((t) => targets.includes(t)),
    settings: {
      warmupSeconds: positive(parsed.warmup, 'warmup', 3),
      wrkSeconds: positive(parsed.duration, 'duration', 3),
      wrkThreads: positive(parsed.threads, 'threads', 1),
      wrkConnections: positive(parsed.connections, 'connections', 32),
      rate: positive(parsed.rate, 'rate', 1000),
      heyWorkers: positive(parsed.workers, 'workers', 10),
      heySeconds: positive(parsed['latency-duration'], 'latency-duration', 3),
      rounds: Math.max(1, Math.round(positive(parsed.rounds, 'rounds', 4))),
    },
    out: parsed.out ?? 'bench/results/latest.md',
    profile: parsed.profile ?? false,
    skiffNodeFlags: (parsed['skiff-node-flags'] ?? '').split(/\s+/).filter(Boolean),
    keep: parsed.keep ?? false,
    verbose: parsed.verbose ?? false,
    help: parsed.help ?? false,
  };
}
