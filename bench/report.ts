// The benchmark's report in markdown: absolute figures per target, skiff against nginx and
// haproxy, and skiff's per-hop targets with whether this run met them.
import type { LoadSettings, TargetResult } from './measure.js';
import { APP_BODY } from './targets/app.js';
import { PROXIED_URL, type TargetName } from './targets/types.js';

/** skiff's goals per sidecar hop. */
export const GOALS = {
  addedP50MsPerHop: 0.5,
  addedP99MsPerHop: 1.5,
  cpuPer1000PerProxy: 0.15,
  rssIdleMb: 60,
} as const;

export interface RunInfo {
  readonly startedAt: string;
  readonly command: string;
  readonly machine: string;
  readonly versions: readonly string[];
  readonly missing: readonly string[];
  readonly loadAverage: { readonly before: readonly number[]; readonly after: readonly number[] };
  readonly settings: LoadSettings;
  /** Targets not run, with why (a missing tool, or not asked for). */
  readonly skipped: readonly { readonly name: TargetName; readonly why: string }[];
}

/** Figures derived from one target's result, relative to direct where that applies. */
export interface Derived {
  readonly rps?: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly addedP50PerHopMs?: number;
  readonly addedP99PerHopMs?: number;
  /** Mean over the target's proxies. */
  readonly cpuPerProxy?: number;
  readonly cpuMaxProxy?: number;
  readonly rssIdleMaxMb?: number;
  readonly rssPeakMaxMb?: number;
}

const MB = 1024 * 1024;

const pct = (r: TargetResult | undefined, p: number): number | undefined => {
  const s = r?.hey?.percentiles.get(p);
  return s === undefined ? undefined : s * 1000;
};

export function derive(r: TargetResult, direct: TargetResult | undefined): Derived {
  const hops = r.hops.length;
  const p50 = pct(r, 50);
  const p99 = pct(r, 99);
  const d50 = pct(direct, 50);
  const d99 = pct(direct, 99);
  const cpus = r.hops.map((h) => h.cpuPer1000).filter((c): c is number => c !== undefined);
  const out: Record<string, number | undefined> = {
    rps: r.wrk?.requestsPerSec,
    p50Ms: p50,
    p99Ms: p99,
    addedP50PerHopMs:
      hops && p50 !== undefined && d50 !== undefined ? (p50 - d50) / hops : undefined,
    addedP99PerHopMs:
      hops && p99 !== undefined && d99 !== undefined ? (p99 - d99) / hops : undefined,
    cpuPerProxy: cpus.length ? cpus.reduce((a, b) => a + b, 0) / cpus.length : undefined,
    cpuMaxProxy: cpus.length ? Math.max(...cpus) : undefined,
    rssIdleMaxMb: hops ? Math.max(...r.hops.map((h) => h.rssIdleBytes)) / MB : undefined,
    rssPeakMaxMb: hops ? Math.max(...r.hops.map((h) => h.rssPeakBytes)) / MB : undefined,
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as Derived;
}

const fixed = (digits: number) => (v: number | undefined) =>
  v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
const int = (v: number | undefined): string => (v === undefined ? '—' : String(Math.round(v)));
const ms = fixed(2);
const cpu = fixed(3);
const mb = fixed(1);
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || b === 0 ? '—' : `${(a / b).toFixed(2)}×`;

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [row(head), row(head.map(() => '---')), ...rows.map(row)];
}

/** `a / b` for the two hops of a proxied target, `—` for direct. */
function perHop(r: TargetResult, f: (h: TargetResult['hops'][number]) => string): string {
  return r.hops.length ? r.hops.map(f).join(' / ') : '—';
}

function resultsTable(
  results: readonly TargetResult[],
  direct: TargetResult | undefined,
): string[] {
  const rows = results.map((r) => {
    const d = derive(r, direct);
    if (r.error) return [r.name, `failed: ${r.error.split('\n')[0]}`, ...Array(9).fill('')];
    return [
      r.name,
      String(r.hops.length),
      int(d.rps),
      ratio(d.rps, direct ? derive(direct, undefined).rps : undefined),
      ms(d.p50Ms),
      ms(d.p99Ms),
      r.hops.length ? ms(d.addedP50PerHopMs) : '—',
      r.hops.length ? ms(d.addedP99PerHopMs) : '—',
      perHop(r, (h) => cpu(h.cpuPer1000)),
      perHop(r, (h) => mb(h.rssIdleBytes / MB)),
      perHop(r, (h) => mb(h.rssPeakBytes / MB)),
    ];
  });
  return table(
    [
      'target',
      'proxy hops',
      'throughput (req/s)',
      '÷ direct',
      'p50 (ms)',
      'p99 (ms)',
      'added p50 per hop (ms)',
      'added p99 per hop (ms)',
      'CPU per 1000 req/s (vCPU, out / in)',
      'RSS idle (MB, out / in)',
      'RSS peak (MB, out / in)',
    ],
    rows,
  );
}

function peersTable(by: ReadonlyMap<TargetName, Derived>): string[] {
  const skiff = by.get('skiff');
  const nginx = by.get('nginx');
  const haproxy = by.get('haproxy');
  const measures: [string, keyof Derived, (v: number | undefined) => string][] = [
    ['throughput (req/s)', 'rps', int],
    ['p50 (ms)', 'p50Ms', ms],
    ['p99 (ms)', 'p99Ms', ms],
    ['added p50 per hop (ms)', 'addedP50PerHopMs', ms],
    ['added p99 per hop (ms)', 'addedP99PerHopMs', ms],
    ['CPU per 1000 req/s per proxy (vCPU, mean of 2)', 'cpuPerProxy', cpu],
    ['RSS idle per proxy (MB, larger of 2)', 'rssIdleMaxMb', mb],
    ['RSS peak per proxy (MB, larger of 2)', 'rssPeakMaxMb', mb],
  ];
  return table(
    ['measure', 'skiff', 'nginx', 'haproxy', 'skiff ÷ nginx', 'skiff ÷ haproxy'],
    measures.map(([label, key, f]) => [
      label,
      f(skiff?.[key]),
      f(nginx?.[key]),
      f(haproxy?.[key]),
      ratio(skiff?.[key], nginx?.[key]),
      ratio(skiff?.[key], haproxy?.[key]),
    ]),
  );
}

/** What carrying a realistic rule set costs the outbound sidecar (the issue: within 10%). */
function rulesTable(by: ReadonlyMap<TargetName, Derived>): string[] {
  const bare = by.get('skiff');
  const rules = by.get('skiff-rules');
  if (!bare || !rules) return [];
  const change = (a: number | undefined, b: number | undefined): string =>
    a === undefined || b === undefined || a === 0 ? '—' : `${(((b - a) / a) * 100).toFixed(1)}%`;
  return [
    '',
    'With a realistic rule set (20 VirtualServices with regex, header and query matches, 20 DestinationRules; `echo` walks 19 non-matching routes first):',
    '',
    ...table(
      ['measure', 'skiff', 'skiff-rules', 'change'],
      [
        ['throughput (req/s)', int(bare.rps), int(rules.rps), change(bare.rps, rules.rps)],
        ['p50 (ms)', ms(bare.p50Ms), ms(rules.p50Ms), change(bare.p50Ms, rules.p50Ms)],
        ['p99 (ms)', ms(bare.p99Ms), ms(rules.p99Ms), change(bare.p99Ms, rules.p99Ms)],
        [
          'CPU per 1000 req/s per proxy',
          cpu(bare.cpuPerProxy),
          cpu(rules.cpuPerProxy),
          change(bare.cpuPerProxy, rules.cpuPerProxy),
        ],
      ],
    ),
  ];
}

function goalsTable(skiff: Derived | undefined): string[] {
  const goal = (
    label: string,
    limit: string,
    v: number | undefined,
    max: number,
    f: (v: number | undefined) => string,
  ) => [label, limit, f(v), v === undefined ? 'not measured' : v <= max ? 'yes' : '**no**'];
  return table(
    ['goal (per skiff sidecar)', 'limit', 'measured', 'met'],
    [
      goal(
        'added p50 latency per hop',
        `≤ ${GOALS.addedP50MsPerHop} ms`,
        skiff?.addedP50PerHopMs,
        GOALS.addedP50MsPerHop,
        ms,
      ),
      goal(
        'added p99 latency per hop',
        `≤ ${GOALS.addedP99MsPerHop} ms`,
        skiff?.addedP99PerHopMs,
        GOALS.addedP99MsPerHop,
        ms,
      ),
      goal(
        'CPU per 1000 req/s (the busier sidecar)',
        `≤ ${GOALS.cpuPer1000PerProxy} vCPU`,
        skiff?.cpuMaxProxy,
        GOALS.cpuPer1000PerProxy,
        cpu,
      ),
      goal(
        'RSS idle (the larger sidecar)',
        `≤ ${GOALS.rssIdleMb} MB`,
        skiff?.rssIdleMaxMb,
        GOALS.rssIdleMb,
        mb,
      ),
    ],
  );
}

/** Failures the load generators saw: figures from a run with errors are not to be trusted. */
function errorLines(results: readonly TargetResult[], rate: number): string[] {
  const lines: string[] = [];
  for (const r of results) {
    const w = r.wrk;
    if (w && (w.non2xx || w.socketErrors)) {
      lines.push(
        `- **${r.name}**: wrk saw ${w.non2xx} non-2xx responses and ${w.socketErrors} socket errors of ${w.requests} requests.`,
      );
    }
    if (r.hey?.failures) {
      lines.push(
        `- **${r.name}**: hey saw ${r.hey.failures} failures of ${r.hey.responses + r.hey.failures} requests.`,
      );
    }
    // hey falls short of the rate when the target cannot keep up: its latency is then queueing.
    if (r.hey && r.hey.requestsPerSec < 0.95 * rate) {
      lines.push(
        `- **${r.name}**: hey reached only ${int(r.hey.requestsPerSec)} of ${rate} req/s.`,
      );
    }
  }
  return lines;
}

export function renderReport(info: RunInfo, results: readonly TargetResult[]): string {
  const s = info.settings;
  const direct = results.find((r) => r.name === 'direct' && !r.error);
  const by = new Map(results.filter((r) => !r.error).map((r) => [r.name, derive(r, direct)]));
  const load = (l: readonly number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const out = [
    `## skiff benchmark, ${info.startedAt}`,
    '',
    `- command: \`${info.command}\``,
    `- machine: ${info.machine}`,
    `- software: ${info.versions.join('; ')}`,
    `- load average (1, 5, 15 min): ${load(info.loadAverage.before)} before, ${load(info.loadAverage.after)} after`,
    `- saturation: \`wrk -t${s.wrkThreads} -c${s.wrkConnections} -d${s.wrkSeconds}s\` after a ${s.warmupSeconds} s warm-up; ` +
      `latency and CPU: \`hey -z ${s.heySeconds}s -c ${s.heyWorkers} -q ${s.rate / s.heyWorkers}\` (${s.rate} req/s); ` +
      'hey reports latency to 0.1 ms, so an added latency per hop is ±0.05 ms',
    `- topology: load → outbound proxy (forward-proxy form, \`GET ${PROXIED_URL}\`) → inbound proxy → app ` +
      `(node:http, fixed ${APP_BODY.length}-byte body), all on 127.0.0.1; direct: load → app`,
    '',
  ];
  for (const m of info.missing) out.push(`- **missing**: ${m}`);
  for (const k of info.skipped) out.push(`- **skipped** ${k.name}: ${k.why}`);
  if (info.missing.length || info.skipped.length) out.push('');
  out.push(...resultsTable(results, direct), '');
  out.push(...peersTable(by), ...rulesTable(by), '');
  out.push(...goalsTable(by.get('skiff')), '');
  const errors = errorLines(results, s.rate);
  if (errors.length) out.push('Errors during the run:', '', ...errors, '');
  return out.join('\n');
}
