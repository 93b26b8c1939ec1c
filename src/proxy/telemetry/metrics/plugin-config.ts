// Istio's stats.PluginConfig (the `istio.stats` HTTP and network filters' config, which skiff
// receives as an xds.type.v3.TypedStruct with type_url type.googleapis.com/stats.PluginConfig)
// → a frozen plan per standard metric: dropped or not, and where each of its labels comes from.
// The plan follows the stats filter's MetricOverrides (istio/proxy istio_stats.cc): entries
// apply in order; `drop` removes a metric, `tags_to_remove` drops labels, `dimensions` override
// a standard label in place or append a new one (new ones sorted by name), and an entry without
// a name applies to every metric.
import { ConfigError } from '../../config-error.js';
import type { Expression } from './expression.js';
import { ExpressionError, compileExpression } from './expression.js';

type Obj = Record<string, unknown>;

export const PLUGIN_CONFIG_TYPE = 'stats.PluginConfig';

/** The labels of every standard metric, in the order Istio's stats filter emits them. */
export const STANDARD_TAGS = [
  'reporter',
  'source_workload',
  'source_canonical_service',
  'source_canonical_revision',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_cluster',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_service_name',
  'destination_service_namespace',
  'destination_cluster',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;

export type StandardTag = (typeof STANDARD_TAGS)[number];
const TAG_INDEX = new Map<string, number>(STANDARD_TAGS.map((t, i) => [t, i]));

/** Names without the `istio_` prefix, as PluginConfig's metrics[].name takes them. */
export const STANDARD_METRICS = [
  'requests_total',
  'request_duration_milliseconds',
  'request_bytes',
  'response_bytes',
  'tcp_connections_opened_total',
  'tcp_connections_closed_total',
  'tcp_sent_bytes_total',
  'tcp_received_bytes_total',
] as const;

export type StandardMetric = (typeof STANDARD_METRICS)[number];

/** Where a label's value comes from: a standard tag (by index) or an expression (by index). */
export type LabelSource = { readonly tag: number } | { readonly expr: number };

export interface MetricPlan {
  readonly dropped: boolean;
  readonly names: readonly string[];
  readonly sources: readonly LabelSource[];
  /** No overrides: the standard labels as they are. */
  readonly standard: boolean;
}

export interface StatsPluginConfig {
  /** SERVER_GATEWAY, or the listener's direction decides (UNSPECIFIED). */
  readonly reporter: 'UNSPECIFIED' | 'SERVER_GATEWAY';
  readonly disableHostHeaderFallback: boolean;
  readonly expressions: readonly Expression[];
  readonly plans: Readonly<Record<StandardMetric, MetricPlan>>;
}

/** TCP metrics carry no response_code or grpc_response_status (Istio's reportHelper). */
const HTTP_ONLY = new Set([TAG_INDEX.get('response_code'), TAG_INDEX.get('grpc_response_status')]);
const isTcp = (m: StandardMetric) => m.startsWith('tcp_');

function standardPlan(tcp: boolean): MetricPlan {
  const tags = STANDARD_TAGS.map((t, tag) => ({ t, tag })).filter(
    (x) => !tcp || !HTTP_ONLY.has(x.tag),
  );
  return Object.freeze({
    dropped: false,
    names: tags.map((x) => x.t),
    sources: tags.map((x) => ({ tag: x.tag })),
    standard: !tcp,
  });
}

const HTTP_PLAN = standardPlan(false);
const TCP_PLAN = standardPlan(true);

interface Draft {
  dropped: boolean;
  /** Per standard tag: undefined = as is, null = removed, number = expression. */
  overrides: Map<number, number | null>;
  additions: [string, number][];
}

function strings(v: unknown, field: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))
    throw new ConfigError(field, 'must be a list of strings');
  return v as string[];
}

/** Compiles the PluginConfig's Struct value; errors name the field. */
export function compilePluginConfig(value: Obj): StatsPluginConfig {
  const expressions: Expression[] = [];
  const exprIds = new Map<string, number>();
  const exprId = (source: string, field: string): number => {
    let id = exprIds.get(source);
    if (id === undefined) {
      try {
        expressions.push(compileExpression(source));
      } catch (e) {
        if (e instanceof ExpressionError) throw new ConfigError(field, e.message);
        throw e;
      }
      id = expressions.length - 1;
      exprIds.set(source, id);
    }
    return id;
  };
  const drafts = new Map<StandardMetric, Draft>(
    STANDARD_METRICS.map((m) => [m, { dropped: false, overrides: new Map(), additions: [] }]),
  );
  const metrics = value['metrics'] ?? [];
  if (!Array.isArray(metrics)) throw new ConfigError('metrics', 'must be a list');
  (metrics as Obj[]).forEach((m, i) => {
    const at = `metrics[${i}]`;
    const name = String(m['name'] ?? '');
    if (name && !drafts.has(name as StandardMetric))
      throw new ConfigError(
        `${at}.name`,
        `${name} is not a standard metric (custom metrics are not supported)`,
      );
    const targets = name ? [drafts.get(name as StandardMetric) as Draft] : [...drafts.values()];
    if (m['drop'] === true) {
      for (const d of targets) d.dropped = true;
      return;
    }
    for (const tag of strings(m['tags_to_remove'], `${at}.tags_to_remove`)) {
      const idx = TAG_INDEX.get(tag);
      if (idx === undefined) continue; // Istio: "Tag is not standard", ignored.
      for (const d of targets) d.overrides.set(idx, null);
    }
    const dims = (m['dimensions'] ?? {}) as Obj;
    for (const tag of Object.keys(dims).sort()) {
      const id = exprId(String(dims[tag]), `${at}.dimensions.${tag}`);
      const idx = TAG_INDEX.get(tag);
      for (const d of targets) {
        if (idx !== undefined) d.overrides.set(idx, id);
        else d.additions.push([tag, id]);
      }
    }
  });
  const plans = {} as Record<StandardMetric, MetricPlan>;
  for (const [metric, d] of drafts) {
    if (!d.dropped && d.overrides.size === 0 && d.additions.length === 0) {
      plans[metric] = isTcp(metric) ? TCP_PLAN : HTTP_PLAN;
      continue;
    }
    const names: string[] = [];
    const sources: LabelSource[] = [];
    STANDARD_TAGS.forEach((tag, idx) => {
      if (isTcp(metric) && HTTP_ONLY.has(idx)) return;
      const o = d.overrides.get(idx);
      if (o === null) return;
      names.push(tag);
      sources.push(o === undefined ? { tag: idx } : { expr: o });
    });
    for (const [tag, expr] of d.additions) {
      names.push(tag);
      sources.push({ expr });
    }
    plans[metric] = Object.freeze({ dropped: d.dropped, names, sources, standard: false });
  }
  const reporter = String(value['reporter'] ?? 'UNSPECIFIED');
  if (reporter !== 'UNSPECIFIED' && reporter !== 'SERVER_GATEWAY')
    throw new ConfigError('reporter', `unknown reporter ${reporter}`);
  return Object.freeze({
    reporter,
    disableHostHeaderFallback: value['disable_host_header_fallback'] === true,
    expressions,
    plans: Object.freeze(plans),
  });
}
