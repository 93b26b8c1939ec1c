// Istio durations (Go syntax: "1h2m3.5s", "100ms") to proto3 JSON durations ("3723.5s").

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  h: 3600,
  m: 60,
  s: 1,
  ms: 1e-3,
  us: 1e-6,
  µs: 1e-6,
  ns: 1e-9,
};

const PART = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g;

/** Seconds in a Go duration; validation has already checked the syntax. */
export function goDurationSeconds(text: string): number {
  let total = 0;
  for (const m of text.matchAll(PART)) total += Number(m[1]) * (UNIT_SECONDS[m[2] ?? 's'] ?? 1);
  return total;
}

/** Go duration → proto3 JSON duration, nanosecond precision. */
export function toProtoDuration(text: string): string {
  const nanos = Math.round(goDurationSeconds(text) * 1e9);
  const seconds = Math.floor(nanos / 1e9);
  const rest = nanos - seconds * 1e9;
  return rest === 0
    ? `${seconds}s`
    : `${seconds}.${String(rest).padStart(9, '0').replace(/0+$/, '')}s`;
}
