// Request targets, and path normalisation as Envoy's maybeNormalizePath does it: escaped slashes,
// then normalize_path, then merge_slashes; routing, RBAC and the upstream all see the result.
import { ProxyError } from '../../../errors.js';
import type { HttpStream } from '../../../http/stream.js';
import type { LocalReply } from '../../http/types.js';

/** HttpConnectionManager.PathWithEscapedSlashesAction (IMPLEMENTATION_SPECIFIC_DEFAULT = keep). */
export type EscapedSlashesAction =
  'KEEP_UNCHANGED' | 'REJECT_REQUEST' | 'UNESCAPE_AND_REDIRECT' | 'UNESCAPE_AND_FORWARD';

export interface PathOptions {
  readonly normalizePath: boolean;
  readonly mergeSlashes: boolean;
  readonly escapedSlashes: EscapedSlashesAction;
}

export type NormalizedPath =
  | { readonly kind: 'ok'; readonly path: string }
  /** 400 path_normalization_failed. */
  | { readonly kind: 'reject' }
  /** UNESCAPE_AND_REDIRECT changed the path: a redirect to `path` (Envoy: 307). */
  | { readonly kind: 'redirect'; readonly path: string };

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const ESCAPED_SLASH = /%(2f|5c)/i;
const PLAIN = /^\/[A-Za-z0-9\-_~!$&'()*+,;=:@/]*$/;

/**
 * Characters a canonical path carries escaped (as Chromium's canonicaliser does): space, quotes,
 * angle brackets, backtick, braces, and every byte outside ASCII. Node hands the request line
 * over as latin1, one character per byte, so each such character is one %XX.
 */
const TO_ESCAPE = /[ "<>`{}\u0080-\uffff]/g;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  if (code <= 0xff) return '%' + code.toString(16).toUpperCase().padStart(2, '0');
  return Buffer.from(c, 'utf8').reduce((s, b) => s + '%' + b.toString(16).toUpperCase(), '');
}

/** Decodes percent-encoded unreserved characters and upper-cases the rest (RFC 3986 §6.2.2). */
function normalizePercentEncoding(path: string): string {
  if (!path.includes('%')) return path;
  return path.replace(/%([0-9a-fA-F]{2})/g, (m, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(ch) ? ch : m.toUpperCase();
  });
}

/** RFC 3986 remove_dot_segments, for a path that starts with `/`. */
export function removeDotSegments(path: string): string {
  if (!path.includes('.')) return path;
  const out: string[] = [];
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i] ?? '';
    if (s === '.') {
      if (i === segments.length - 1) out.push('');
    } else if (s === '..') {
      out.pop();
      if (i === segments.length - 1) out.push('');
    } else {
      out.push(s);
    }
  }
  return '/' + out.join('/');
}

/** `//` and longer runs become one `/` (merge_slashes). */
export function mergeSlashes(path: string): string {
  return path.includes('//') ? path.replace(/\/{2,}/g, '/') : path;
}

/**
 * normalize_path (Envoy's PathUtil::canonicalPath): undefined when the path is invalid (%00, a
 * control character), which Envoy answers with 400.
 */
export function canonicalPath(path: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/%00|[\u0000-\u001f\u007f]/.test(path)) return undefined;
  let p = path.includes('\\') ? path.replace(/\\/g, '/') : path;
  if (!p.startsWith('/')) p = '/' + p;
  p = p.replace(TO_ESCAPE, escapeChar);
  return removeDotSegments(normalizePercentEncoding(p));
}

/** Envoy's unescape of %2F and %5C (either case) for the UNESCAPE_* actions. */
export function unescapeSlashes(path: string): string {
  return path.replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
}

/** The path (no query) as the connection manager hands it on, or why it refuses it. */
export function normalizeRequestPath(path: string, o: PathOptions): NormalizedPath {
  // Most paths hold nothing any step changes (no dot, escape, backslash or odd byte): as they are.
  if (PLAIN.test(path) && !(o.mergeSlashes && path.includes('//'))) return { kind: 'ok', path };
  let p = path;
  let unescaped = false;
  if (o.escapedSlashes !== 'KEEP_UNCHANGED' && ESCAPED_SLASH.test(p)) {
    if (o.escapedSlashes === 'REJECT_REQUEST') return { kind: 'reject' };
    p = unescapeSlashes(p);
    unescaped = o.escapedSlashes === 'UNESCAPE_AND_REDIRECT';
  }
  if (o.normalizePath) {
    const c = canonicalPath(p);
    if (c === undefined) return { kind: 'reject' };
    p = c;
  }
  if (o.mergeSlashes) p = mergeSlashes(p);
  return unescaped ? { kind: 'redirect', path: p } : { kind: 'ok', path: p };
}

/** normalize_path (with merge_slashes when asked), keeping an invalid path as it is. */
export function normalizePath(path: string, merge: boolean): string {
  const r = normalizeRequestPath(path, {
    normalizePath: true,
    mergeSlashes: merge,
    escapedSlashes: 'KEEP_UNCHANGED',
  });
  return r.kind === 'ok' ? r.path : path;
}

/**
 * UNESCAPE_AND_REDIRECT's answer: Envoy redirects (307) to the unescaped, normalised path, which
 * the client then asks for. A ProxyError so the connection manager's early-exit path carries it.
 */
export class PathRedirect extends ProxyError {
  constructor(readonly location: string) {
    super('ERR_PATH_REDIRECT', 307, 'DPE', 'path_normalization_failed', '');
  }

  reply(stream: HttpStream): LocalReply {
    stream.responseCodeDetails = this.details;
    return { status: 307, body: '', headers: { location: this.location } };
  }
}

export interface RequestTarget {
  /** Present for absolute-form targets (`http://host:port/path`). */
  readonly authority: string | undefined;
  readonly scheme: string | undefined;
  readonly path: string;
  readonly query: string;
}

/** `/`, `?` and `#`: where an absolute-form target's authority ends. */
const AUTHORITY_END: ReadonlySet<number> = new Set([0x2f, 0x3f, 0x23]);
const LINE_BREAK = /[\n\r\u2028\u2029]/;

/** url[0, end) is a scheme: a letter, then letters, digits, `+`, `-` and `.`. */
function isScheme(url: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const c = url.charCodeAt(i) | 0x20; // ASCII letters to lower case
    const letter = c >= 0x61 && c <= 0x7a;
    if (i === 0 ? !letter : !letter && !SCHEME_EXTRA.has(url.charCodeAt(i))) return false;
  }
  return true;
}

/** Digits, `+`, `-` and `.`. */
const SCHEME_EXTRA: ReadonlySet<number> = new Set([
  0x2b, 0x2d, 0x2e, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39,
]);

/**
 * Splits a request-target in origin form or absolute form; undefined when malformed. A fragment
 * is dropped (clients never send one; Envoy strips it from :path by default).
 */
export function parseRequestTarget(url: string): RequestTarget | undefined {
  let authority: string | undefined;
  let scheme: string | undefined;
  let rest = url;
  // A backslash is a slash to Envoy's canonicaliser: `\admin` is an origin-form target.
  if (!url.startsWith('/') && !url.startsWith('\\')) {
    // absolute-form, `scheme://authority[/path][?query]` (RFC 3986 §3.1, §3.2): scanned by hand,
    // as a proxy's every request has this form.
    const sep = url.indexOf('://');
    if (sep < 1 || !isScheme(url, sep)) return undefined;
    let end = sep + 3;
    while (end < url.length && !AUTHORITY_END.has(url.charCodeAt(end))) end++;
    scheme = url.slice(0, sep).toLowerCase();
    authority = url.slice(sep + 3, end);
    rest = url.slice(end) || '/';
    if (LINE_BREAK.test(rest)) return undefined;
    if (!rest.startsWith('/')) rest = '/' + rest;
  }
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  return {
    authority,
    scheme,
    path: q < 0 ? rest : rest.slice(0, q),
    query: q < 0 ? '' : rest.slice(q + 1),
  };
}
