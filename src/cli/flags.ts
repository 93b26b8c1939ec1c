// Parsers for flag values, shared by the commands (each throws CliError naming the flag).
import { UsageError } from './io.js';

/** Commander accumulator for repeatable flags (`--inbound A --inbound B`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function parsePort(value: string, flag: string, allowZero = true): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535 || (!allowZero && n === 0)) {
    throw new UsageError(`${flag}: ${JSON.stringify(value)} is not a port number`);
  }
  return n;
}

/** `k=v,k2=v2` (Kubernetes label values hold no commas). */
export function parseLabels(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!value) return out;
  for (const pair of value.split(',')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--labels: ${JSON.stringify(pair)} is not key=value`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** `P=H` pairs: a Gateway server port and the host port the router serves it on. */
export function parseGatewayPorts(values: readonly string[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const v of values) {
    const m = /^(\d+)=(\d+)$/.exec(v);
    if (!m) throw new UsageError(`--gateway-port: ${JSON.stringify(v)} is not PORT=HOSTPORT`);
    out[parsePort(m[1]!, '--gateway-port', false)] = parsePort(m[2]!, '--gateway-port', false);
  }
  return out;
}

/** `host:port` with a numeric port. */
export function parseHostPort(value: string, flag: string): string {
  const colon = value.lastIndexOf(':');
  if (colon <= 0) throw new UsageError(`${flag}: ${JSON.stringify(value)} is not HOST:PORT`);
  parsePort(value.slice(colon + 1), flag, false);
  return value;
}

export function parseNonNegativeInt(value: string, flag: string): number {
  if (!/^\d+$/.test(value)) {
    throw new UsageError(`${flag}: ${JSON.stringify(value)} is not a whole number`);
  }
  return Number(value);
}
