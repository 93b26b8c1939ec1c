// A small metrics registry for the request path: counter and histogram families whose series
// are keyed by a pre-rendered label string, so recording is a map lookup and an add. prom-client
// resolves label objects on every call (sorting and hashing their keys); this does that work
// once per label set and renders Prometheus text (exposition format 0.0.4) only when scraped.

/** Envoy's default histogram buckets, which Istio's duration and size histograms keep. */
export const ENVOY_BUCKETS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
  1800000, 3600000,
];

/** A label value as the exposition format quotes it (backslash, quote and newline escaped). */
export function escapeLabel(v: string): string {
  return /[\\"\n]/.test(v)
    ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
    : v;
}

/** `{a="x",b="y"}` for names and values in order; '' when there are none. */
export function renderLabels(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  let s = '{';
  for (let i = 0; i < names.length; i++) {
    if (i) s += ',';
    s += `${names[i]}="${escapeLabel(values[i] ?? '')}"`;
  }
  return s + '}';
}

export class CounterSeries {
  value = 0;
  constructor(readonly labels: string) {}
  inc(n = 1): void {
    this.value += n;
  }
}

export class HistogramSeries {
  /** Per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > (b[i] as number)) i++;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.sum += v;
    this.count++;
  }
}

abstract class Family<S> {
  protected readonly series = new Map<string, S>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  protected abstract make(labels: string): S;
  /** The series of a rendered label set (see renderLabels), created on first use. */
  get(labels: string): S {
    let s = this.series.get(labels);
    if (!s) {
      s = this.make(labels);
      this.series.set(labels, s);
    }
    return s;
  }
  get size(): number {
    return this.series.size;
  }
  abstract render(out: string[]): void;
}

export class CounterFamily extends Family<CounterSeries> {
  protected make(labels: string): CounterSeries {
    return new CounterSeries(labels);
  }
  render(out: string[]): void {
    if (this.series.size === 0) return;
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const s of this.series.values()) out.push(`${this.name}${s.labels} ${s.value}`);
  }
}

/** Bucket bounds as Envoy prints them (`le="0.5"`, `le="3.6e+06"`, as Go's %g would). */
function formatBound(b: number): string {
  if (b >= 1e6) {
    const [m, e] = b.toExponential().split('e');
    return `${m}e+${(e ?? '').replace('+', '').padStart(2, '0')}`;
  }
  return String(b);
}

export class HistogramFamily extends Family<HistogramSeries> {
  private readonly les: string[];
  constructor(
    name: string,
    help: string,
    readonly bounds: readonly number[] = ENVOY_BUCKETS,
  ) {
    super(name, help);
    this.les = [...bounds.map(formatBound), '+Inf'];
  }
  protected make(labels: string): HistogramSeries {
    return new HistogramSeries(labels, this.bounds);
  }
  render(out: string[]): void {
    if (this.series.size === 0) return;
    const n = this.name;
    out.push(`# HELP ${n} ${this.help}`, `# TYPE ${n} histogram`);
    for (const s of this.series.values()) {
      const base = s.labels ? `${s.labels.slice(0, -1)},` : '{';
      let cumulative = 0;
      for (let i = 0; i < this.les.length; i++) {
        cumulative += s.counts[i] ?? 0;
        out.push(`${n}_bucket${base}le="${this.les[i]}"} ${cumulative}`);
      }
      out.push(`${n}_sum${s.labels} ${s.sum}`, `${n}_count${s.labels} ${s.count}`);
    }
  }
}

/** One proxy's families, rendered in registration order. */
export class Registry {
  private readonly families: Family<unknown>[] = [];
  counter(name: string, help: string): CounterFamily {
    const f = new CounterFamily(name, help);
    this.families.push(f);
    return f;
  }
  histogram(name: string, help: string, bounds?: readonly number[]): HistogramFamily {
    const f = new HistogramFamily(name, help, bounds);
    this.families.push(f);
    return f;
  }
  render(out: string[]): void {
    for (const f of this.families) f.render(out);
  }
}
