// The benchmark's report in markdown: absolute figures per target, skiff against nginx and
// haproxy, and skiff's per-hop targets with whether this run met them.
import { median, type LoadSettings, type RoundFigures, type TargetResult } from './measure.js';
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

/** The acceptance criterion for skiff-rules: within 10% of skiff. */
export const RULES_TOLERANCE = 0.1;

/** One "subject ÷ baseline" comparison of two of skiff's variants. */
export interface Comparison {
  readonly subject: TargetName;
  readonly baseline: TargetName;
  /** What the ratio is the cost of, for the report. */
  readonly cost: string;
  /** Measured head to head too (run.ts loads the two at the same time for some rounds). */
  readonly headToHead: boolean;
  /** Judged against RULES_TOLERANCE (issue 3's criterion: skiff-rules only). */
  readonly judged: boolean;
}

/**
 * The comparisons the report makes, when both targets ran. The telemetry ones are taken against
 * skiff-bare, the pair without any telemetry: skiff-telemetry ÷ skiff-bare is the cost of all of
 * it (and is what is measured head to head), skiff ÷ skiff-bare that of Istio's default metrics
 * alone; skiff-telemetry ÷ skiff (access logs and tracing over the metrics) follows from the
 * interleaved rounds only.
 */
export const COMPARISONS: readonly Comparison[] = [
  {
    subject: 'skiff-rules',
    baseline: 'skiff-plaintext',
    cost: 'a realistic rule set (20 VirtualServices with regex, header and query matches, 20 DestinationRules; `echo` walks 57 non-matching routes first)',
    headToHead: true,
    judged: true,
  },
  {
    subject: 'skiff-telemetry',
    baseline: 'skiff-bare',
    cost: "all of Istio's usual telemetry: metrics (istio.stats), access logs (Istio's text format to the sidecars' stdout, i.e. their log files) and tracing at 1% to a Zipkin receiver",
    headToHead: true,
    judged: false,
  },
  {
    subject: 'skiff',
    baseline: 'skiff-bare',
    cost: "Istio's default metrics alone (istio.stats and istio.metadata_exchange, on in skiff by default)",
    headToHead: true,
    judged: false,
  },
  {
    subject: 'skiff-telemetry',
    baseline: 'skiff',
    cost: 'access logs and 1% tracing over the default metrics',
    headToHead: false,
    judged: false,
  },
  {
    subject: 'skiff',
    baseline: 'skiff-plaintext',
    cost: "Istio's default auto mTLS between the two sidecars (PERMISSIVE; ISTIO_MUTUAL from the client sidecar)",
    headToHead: true,
    judged: false,
  },
  {
    subject: 'skiff-secure',
    baseline: 'skiff-plaintext',
    cost: 'mTLS on every hop (PeerAuthentication STRICT, ISTIO_MUTUAL from the client sidecar) and an ALLOW AuthorizationPolicy with three rules on the inbound sidecar',
    headToHead: true,
    judged: false,
  },
];

/** The pairs run.ts measures head to head: baseline first. */
export const HEAD_TO_HEAD_PAIRS: readonly (readonly [TargetName, TargetName])[] =
  COMPARISONS.filter((c) => c.headToHead).map((c) => [c.baseline, c.subject] as const);

/** subject ÷ baseline for one measure: the median of the per-round ratios, and their range. */
export interface PairedRatio {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly rounds: number;
}

/**
 * Ratios b ÷ a of rounds measured side by side (round i of one target next to round i of the
 * other), so the machine's load at the time weighs on both; undefined without a pair.
 */
export function pairedRatio(
  a: readonly RoundFigures[] | undefined,
  b: readonly RoundFigures[] | undefined,
  key: keyof RoundFigures,
): PairedRatio | undefined {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(a?.length ?? 0, b?.length ?? 0); i++) {
    const x = a![i]![key];
    const y = b![i]![key];
    if (x !== undefined && y !== undefined && x > 0 && Number.isFinite(y)) ratios.push(y / x);
  }
  const m = median(ratios);
  return m === undefined
    ? undefined
    : { median: m, min: Math.min(...ratios), max: Math.max(...ratios), rounds: ratios.length };
}

type Hop = TargetResult['hops'][number];

/** The rows of a comparison: a measure, its per-round key, its value in a result. */
const COMPARED: readonly {
  readonly label: string;
  readonly key: keyof RoundFigures;
  readonly value: (r: TargetResult, d: Derived) => number | undefined;
  readonly format: (v: number | undefined) => string;
  readonly higherIsBetter: boolean;
}[] = [
  {
    label: 'throughput (req/s)',
    key: 'rps',
    value: (_, d) => d.rps,
    format: int,
    higherIsBetter: true,
  },
  { label: 'p50 (ms)', key: 'p50Ms', value: (_, d) => d.p50Ms, format: ms, higherIsBetter: false },
  { label: 'p99 (ms)', key: 'p99Ms', value: (_, d) => d.p99Ms, format: ms, higherIsBetter: false },
  {
    label: 'CPU per 1000 req/s per proxy (mean of 2)',
    key: 'cpuPerProxy',
    value: (_, d) => d.cpuPerProxy,
    format: cpu,
    higherIsBetter: false,
  },
  {
    label: 'CPU per 1000 req/s, outbound proxy',
    key: 'cpuOutbound',
    value: (r) => r.hops[0]?.cpuPer1000,
    format: cpu,
    higherIsBetter: false,
  },
  {
    label: 'CPU per 1000 requests at saturation per proxy (mean of 2)',
    key: 'saturationCpuPerProxy',
    value: (r) => meanOf(r.hops.map((h: Hop) => h.saturationCpuPer1000)),
    format: cpu,
    higherIsBetter: false,
  },
  {
    label: 'CPU per 1000 requests at saturation, outbound proxy',
    key: 'saturationCpuOutbound',
    value: (r) => r.hops[0]?.saturationCpuPer1000,
    format: cpu,
    higherIsBetter: false,
  },
];

function meanOf(v: readonly (number | undefined)[]): number | undefined {
  const d = v.filter((x): x is number => x !== undefined);
  return d.length === v.length && d.length ? d.reduce((a, b) => a + b, 0) / d.length : undefined;
}

const times = (v: number): string => `${v.toFixed(2)}×`;

/** A ratio as a change: `0.92× (−8.0%)`. */
function asCost(r: PairedRatio): string {
  const p = (r.median - 1) * 100;
  return `${times(r.median)} (${p >= 0 ? '+' : '−'}${Math.abs(p).toFixed(1)}%)`;
}

/** Route lookup for the benchmark's request (skiff and skiff-rules), for the rules section. */
function routeCostLines(results: readonly TargetResult[]): string[] {
  const costLine = (name: TargetName): string | undefined => {
    const r = results.find((x) => x.name === name && !x.error);
    const c = r?.routeCost;
    if (!c) return undefined;
    const perRequestNs = (r.hops[0]?.saturationCpuPer1000 ?? NaN) * 1e6; // CPU-s per 1000 → ns
    const share = Number.isFinite(perRequestNs)
      ? `, ${((c.nsPerLookup / perRequestNs) * 100).toFixed(1)}% of the outbound proxy's CPU per request at saturation`
      : '';
    return `- ${name}: ${(c.nsPerLookup / 1000).toFixed(2)} µs per lookup, ${c.routesTried} route(s) tried${share}`;
  };
  const costs = [costLine('skiff'), costLine('skiff-rules')].filter((l) => l !== undefined);
  return costs.length
    ? [
        '',
        "Route lookup for the benchmark's request, timed in the bench process on the outbound sidecar's own route configuration (from its /config_dump):",
        '',
        ...costs,
      ]
    : [];
}

/** One comparison: the two targets' medians and the per-round ratios, with a verdict if judged. */
function comparisonSection(
  c: Comparison,
  results: readonly TargetResult[],
  by: ReadonlyMap<TargetName, Derived>,
): string[] {
  const ra = results.find((r) => r.name === c.baseline && !r.error);
  const rb = results.find((r) => r.name === c.subject && !r.error);
  const da = by.get(c.baseline);
  const db = by.get(c.subject);
  if (!ra || !rb || !da || !db) return [];
  const ha = c.headToHead ? ra.headToHead?.[c.subject] : undefined;
  const hb = c.headToHead ? rb.headToHead?.[c.baseline] : undefined;
  const range = (r: PairedRatio | undefined): string =>
    r ? `${times(r.min)}–${times(r.max)} (${r.rounds})` : '—';
  const verdict = (r: PairedRatio | undefined, higherIsBetter: boolean): string => {
    if (!r) return 'not measured';
    const ok = higherIsBetter ? r.median >= 1 - RULES_TOLERANCE : r.median <= 1 + RULES_TOLERANCE;
    return ok ? 'yes' : '**no**';
  };
  const rows = COMPARED.map((m) => {
    const seq = pairedRatio(ra.rounds, rb.rounds, m.key);
    const both = pairedRatio(ha, hb, m.key);
    return {
      m,
      seq,
      both,
      cells: [
        m.label,
        m.format(m.value(ra, da)),
        m.format(m.value(rb, db)),
        seq ? times(seq.median) : '—',
        range(seq),
        ...(c.headToHead ? [both ? times(both.median) : '—', range(both)] : []),
        ...(c.judged ? [verdict(both ?? seq, m.higherIsBetter)] : []),
      ],
    };
  });
  const title = `### ${c.subject} ÷ ${c.baseline}`;
  const intro =
    `The cost of ${c.cost}. ${c.subject} ÷ ${c.baseline} is the median of per-round ratios, with their range: ` +
    '"interleaved" pairs the rounds above (the two measured one after the other)' +
    (c.headToHead
      ? ', "head to head" pairs rounds in which both were loaded at the same time, each by its own wrk or hey, so that whatever else the machine does weighs on both alike (their absolute figures are not comparable with the others: the two share the machine)'
      : '; the two were not loaded head to head') +
    '.' +
    (c.judged
      ? ` The goal is to stay within ${RULES_TOLERANCE * 100}%, judged head to head where measured; hey's 0.1 ms resolution makes the latency ratios coarse:`
      : ' Below 1× is less throughput or less CPU; above, more:');
  const summary: string[] = [];
  if (!c.judged) {
    // The cost in one line: head to head where measured, else interleaved.
    const pick = (key: keyof RoundFigures) => {
      const row = rows.find((r) => r.m.key === key);
      return row?.both ?? row?.seq;
    };
    const how = rows.some((r) => r.both) ? 'head to head' : 'interleaved';
    const parts = [
      ['throughput', pick('rps')],
      ['CPU per request per proxy at 1000 req/s', pick('cpuPerProxy')],
      ['at saturation', pick('saturationCpuPerProxy')],
      ['p50', pick('p50Ms')],
      ['p99', pick('p99Ms')],
    ] as const;
    const said = parts.filter(([, r]) => r).map(([what, r]) => `${what} ${asCost(r!)}`);
    if (said.length) summary.push('', `Cost (${how} medians): ${said.join(', ')}.`);
  }
  return [
    '',
    title,
    ...(c.judged ? routeCostLines(results) : []),
    '',
    intro,
    '',
    ...table(
      [
        'measure',
        c.baseline,
        c.subject,
        '÷, interleaved',
        'range',
        ...(c.headToHead ? ['÷, head to head', 'range'] : []),
        ...(c.judged ? [`within ${RULES_TOLERANCE * 100}%`] : []),
      ],
      rows.map((r) => r.cells),
    ),
    ...summary,
  ];
}

/** Every comparison whose two targets ran. */
function comparisons(
  results: readonly TargetResult[],
  by: ReadonlyMap<TargetName, Derived>,
): string[] {
  return COMPARISONS.flatMap((c) => comparisonSection(c, results, by));
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
    `- ${s.rounds} rounds per target, interleaved (forward order, then reverse, ...); figures are medians over the rounds, peak RSS the largest`,
    `- saturation: \`wrk -t${s.wrkThreads} -c${s.wrkConnections} -d${s.wrkSeconds}s\` per round after a ${s.warmupSeconds} s warm-up; ` +
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
  const notes = results.filter((r) => r.notes?.length);
  if (notes.length) {
    out.push(
      "Checked after the warm-up (from the sidecars' /config_dump, /stats/prometheus and logs):",
      '',
      ...notes.map((r) => `- ${r.name}: ${r.notes!.join('; ')}`),
      '',
    );
  }
  out.push(...peersTable(by), ...comparisons(results, by), '');
  out.push(...goalsTable(by.get('skiff')), '');
  const errors = errorLines(results, s.rate);
  if (errors.length) out.push('Errors during the run:', '', ...errors, '');
  return out.join('\n');
}
