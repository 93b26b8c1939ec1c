// Durations as Istio's YAML writes them: Go's time.ParseDuration format (`1h2m3.5s`, `100ms`),
// which the CRDs check with CEL's duration(); istiod also wants >= 1ms, to the millisecond.

export type DurationResult =
  | { readonly ok: true; readonly nanos: bigint; readonly seconds: number }
  | { readonly ok: false; readonly message: string };

const UNIT_NANOS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const COMPONENT = /^(\d*)(?:\.(\d*))?([^\d.]+)/;
const MILLI = 1_000_000n;

/** Parses a Go duration exactly (to the nanosecond). */
export function parseDuration(text: string): DurationResult {
  const bad = (why: string): DurationResult => ({
    ok: false,
    message: `invalid duration "${text}": ${why} (use Go's format, e.g. "1.5s", "100ms", "1h2m")`,
  });
  let rest = text;
  let sign = 1n;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1n;
    rest = rest.slice(1);
  }
  if (rest === '0') return { ok: true, nanos: 0n, seconds: 0 };
  if (rest === '') return bad('empty');
  let nanos = 0n;
  while (rest !== '') {
    const m = COMPONENT.exec(rest);
    if (!m)
      return bad(/^\d/.test(rest) || rest.startsWith('.') ? 'missing unit' : 'expected a number');
    const [all, whole = '', frac = '', unit = ''] = m;
    if (whole === '' && frac === '') return bad('expected a number');
    const unitNanos = UNIT_NANOS[unit];
    if (unitNanos === undefined) return bad(`unknown unit "${unit}"`);
    nanos += BigInt(whole || '0') * unitNanos;
    if (frac !== '') nanos += (BigInt(frac) * unitNanos) / 10n ** BigInt(frac.length);
    rest = rest.slice(all.length);
  }
  nanos *= sign;
  return { ok: true, nanos, seconds: Number(nanos) / 1e9 };
}

/**
 * The problem with a duration field's value, or undefined: Go syntax, at least 1ms unless
 * `allowZero` (istiod's ValidateDuration), and no finer than a millisecond.
 */
export function durationProblem(
  text: string,
  opts: { allowZero?: boolean } = {},
): string | undefined {
  const d = parseDuration(text);
  if (!d.ok) return d.message;
  if (d.nanos === 0n && opts.allowZero) return undefined;
  if (d.nanos < MILLI) return `duration must be at least 1ms (got "${text}")`;
  if (d.nanos % MILLI !== 0n)
    return `duration must be a whole number of milliseconds (got "${text}")`;
  return undefined;
}
