// Editing a downstream request's headers in place, as filters do (Envoy's header map ops): both
// `req.headers` (what filters read) and `req.rawHeaders` (what the router copies upstream, one
// entry per field line) change together. Names are lower case.
import type { IncomingMessage } from 'node:http';

/**
 * Removes every field line of the named headers, in one pass over the raw list (a name is
 * lower-cased only when its length matches one of them). It runs on every request the peer
 * metadata exchange sees: when no named header is present it allocates nothing.
 */
export function removeRequestHeaders(req: IncomingMessage, ...names: readonly string[]): void {
  const headers = req.headers as Record<string, unknown>;
  let present = false;
  for (const n of names) {
    if (headers[n] === undefined) continue;
    present = true;
    delete headers[n];
  }
  if (!present) return;
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) {
    const name = raw[i] as string;
    if (names.some((n) => n.length === name.length) && names.includes(name.toLowerCase()))
      raw.splice(i, 2);
  }
}

/** Adds a field line (Envoy's addCopy), as Node would have parsed a repeated header. */
export function addRequestHeader(req: IncomingMessage, name: string, value: string): void {
  const headers = req.headers as Record<string, string | string[] | undefined>;
  const prior = headers[name];
  headers[name] = prior === undefined ? value : `${String(prior)}, ${value}`;
  req.rawHeaders.push(name, value);
}

/** Every value of a header, one per field line (raw headers keep repeated fields apart). */
export function requestHeaderValues(req: IncomingMessage, name: string): string[] {
  const raw = req.rawHeaders;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i] as string;
    if (n.length === name.length && n.toLowerCase() === name) out.push(raw[i + 1] ?? '');
  }
  return out;
}
