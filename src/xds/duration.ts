// google.protobuf.Duration in its proto3 JSON form ("1.5s"), both ways.

const DURATION_RE = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

export function parseProtoDuration(text: string): { seconds: number; nanos: number } {
  const m = DURATION_RE.exec(text);
  if (!m)
    throw new TypeError(
      `invalid duration ${JSON.stringify(text)}: expected proto3 JSON form like "1.5s"`,
    );
  const sign = m[1] ? -1 : 1;
  const seconds = Number(m[2]);
  const nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0;
  return { seconds: sign * seconds, nanos: sign * nanos };
}

export function formatProtoDuration(seconds: number, nanos: number): string {
  const negative = seconds < 0 || nanos < 0;
  const s = Math.abs(seconds);
  const n = Math.abs(nanos);
  const fraction = n === 0 ? '' : '.' + String(n).padStart(9, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${s}${fraction}s`;
}
