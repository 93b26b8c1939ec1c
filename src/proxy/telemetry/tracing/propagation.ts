// Trace context on the wire: W3C Trace Context (`traceparent`, `tracestate`; w3.org/TR/trace-context)
// and B3 (openzipkin/b3-propagation: the x-b3-* headers and the single `b3` header), read from a
// request and written for the next hop. Invalid headers are ignored, as both specs require.
import type { IncomingHttpHeaders } from 'node:http';

/** What a request says about its trace. `sampled` undefined: no decision was made upstream. */
export interface IncomingContext {
  /** 32 lower-case hex digits (a 64-bit B3 id is left-padded with zeros). */
  readonly traceId: string | undefined;
  /** The caller's span: 16 lower-case hex digits. */
  readonly spanId: string | undefined;
  readonly sampled: boolean | undefined;
  /** Which header carried it; a `b3` single header is written back in the same form. */
  readonly format: 'w3c' | 'b3' | 'b3-single';
  /** W3C tracestate, passed on unchanged (vendors' entries). */
  readonly traceState: string | undefined;
}

/** The context a proxy sends on: the span the next hop's span is a child of. */
export interface OutgoingContext {
  readonly traceId: string;
  readonly spanId: string;
  /** The parent of `spanId` (B3's x-b3-parentspanid), when there is one. */
  readonly parentId: string | undefined;
  readonly sampled: boolean;
}

/** Headers a proxy replaces with its own context on the way upstream. */
export const TRACE_HEADERS: ReadonlySet<string> = new Set([
  'traceparent',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'b3',
]);

const LOWER_HEX = /^[0-9a-f]+$/;
const ANY_HEX = /^[0-9a-fA-F]+$/;

function isZero(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== 48) return false;
  return true;
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * W3C traceparent `version-traceid-parentid-flags`: lower-case hex, ids not all zeros, version
 * ff invalid; a version 00 header is exactly 55 characters, a later version may carry more
 * after a dash (trace-context §3.2, versioning).
 */
export function parseTraceparent(value: string): IncomingContext | undefined {
  const v = value.trim();
  if (v.length < 55 || v[2] !== '-' || v[35] !== '-' || v[52] !== '-') return undefined;
  const version = v.slice(0, 2);
  if (!LOWER_HEX.test(version) || version === 'ff') return undefined;
  if (version === '00' ? v.length !== 55 : v.length > 55 && v[55] !== '-') return undefined;
  const traceId = v.slice(3, 35);
  const spanId = v.slice(36, 52);
  const flags = v.slice(53, 55);
  if (!LOWER_HEX.test(traceId) || !LOWER_HEX.test(spanId) || !LOWER_HEX.test(flags))
    return undefined;
  if (isZero(traceId) || isZero(spanId)) return undefined;
  return {
    traceId,
    spanId,
    sampled: (parseInt(flags, 16) & 1) === 1,
    format: 'w3c',
    traceState: undefined,
  };
}

export function formatTraceparent(c: OutgoingContext): string {
  return `00-${c.traceId}-${c.spanId}-${c.sampled ? '01' : '00'}`;
}

/** B3 trace id: 16 or 32 hex digits, not all zeros; widened to 128 bits. */
function b3TraceId(v: string | undefined): string | undefined {
  if (!v || (v.length !== 16 && v.length !== 32) || !ANY_HEX.test(v) || isZero(v)) return undefined;
  const id = v.toLowerCase();
  return id.length === 16 ? `0000000000000000${id}` : id;
}

function b3SpanId(v: string | undefined): string | undefined {
  if (!v || v.length !== 16 || !ANY_HEX.test(v) || isZero(v)) return undefined;
  return v.toLowerCase();
}

/** B3 sampling state: `1`/`0` (and `true`/`false`, which old tracers send); `d` is debug. */
function b3Sampled(v: string | undefined): boolean | undefined | null {
  if (v === undefined) return undefined;
  switch (v.toLowerCase()) {
    case '1':
    case 'true':
    case 'd':
      return true;
    case '0':
    case 'false':
      return false;
    default:
      return null;
  }
}

/** The single `b3` header: `{traceid}-{spanid}[-{sampled}[-{parentspanid}]]`, or `{sampled}`. */
export function parseB3Single(value: string): IncomingContext | undefined {
  const parts = value.trim().split('-');
  if (parts.length === 1) {
    const sampled = b3Sampled(parts[0]);
    if (sampled === null || sampled === undefined) return undefined;
    return {
      traceId: undefined,
      spanId: undefined,
      sampled,
      format: 'b3-single',
      traceState: undefined,
    };
  }
  if (parts.length > 4) return undefined;
  const traceId = b3TraceId(parts[0]);
  const spanId = b3SpanId(parts[1]);
  if (!traceId || !spanId) return undefined;
  const sampled = b3Sampled(parts[2]);
  if (sampled === null) return undefined;
  if (parts.length === 4 && !b3SpanId(parts[3])) return undefined;
  return { traceId, spanId, sampled, format: 'b3-single', traceState: undefined };
}

/** The x-b3-* headers; x-b3-flags: 1 (debug) means sampled. A lone sampling header counts. */
export function parseB3Multi(h: IncomingHttpHeaders): IncomingContext | undefined {
  const rawTrace = one(h['x-b3-traceid']);
  const rawSpan = one(h['x-b3-spanid']);
  let sampled = b3Sampled(one(h['x-b3-sampled']));
  if (sampled === null) sampled = undefined;
  if (one(h['x-b3-flags']) === '1') sampled = true;
  if (rawTrace === undefined && rawSpan === undefined) {
    return sampled === undefined
      ? undefined
      : { traceId: undefined, spanId: undefined, sampled, format: 'b3', traceState: undefined };
  }
  const traceId = b3TraceId(rawTrace);
  const spanId = b3SpanId(rawSpan);
  if (!traceId || !spanId) return undefined;
  return { traceId, spanId, sampled, format: 'b3', traceState: undefined };
}

/**
 * The request's trace context: traceparent first (with its tracestate), then the single b3
 * header, then the x-b3-* headers; undefined when none is valid.
 */
export function extractContext(h: IncomingHttpHeaders): IncomingContext | undefined {
  const tp = one(h['traceparent']);
  if (tp !== undefined) {
    const c = parseTraceparent(tp);
    if (c) {
      const ts = h['tracestate'];
      const traceState = Array.isArray(ts) ? ts.join(',') : ts;
      return traceState ? { ...c, traceState } : c;
    }
  }
  const single = one(h['b3']);
  if (single !== undefined) {
    const c = parseB3Single(single);
    if (c) return c;
  }
  if (h['x-b3-traceid'] !== undefined || h['x-b3-sampled'] !== undefined || h['x-b3-flags'])
    return parseB3Multi(h);
  return undefined;
}

/**
 * The headers for the next hop, appended to `out` as name/value pairs: traceparent and the
 * x-b3-* headers always (so either kind of tracer downstream follows), `b3` when the request
 * came with the single header. tracestate is forwarded as it came.
 */
export function injectContext(
  c: OutgoingContext,
  singleB3: boolean,
  out: [string, string][],
): void {
  const sampled = c.sampled ? '1' : '0';
  out.push(['traceparent', formatTraceparent(c)]);
  out.push(['x-b3-traceid', c.traceId], ['x-b3-spanid', c.spanId], ['x-b3-sampled', sampled]);
  if (c.parentId) out.push(['x-b3-parentspanid', c.parentId]);
  if (singleB3)
    out.push(['b3', `${c.traceId}-${c.spanId}-${sampled}${c.parentId ? `-${c.parentId}` : ''}`]);
}
