// Request-target parsing and path normalisation (RFC 3986 §5.2.4 and §6.2.2, as Envoy's
// normalize_path and merge_slashes do it).

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Decodes percent-encoded unreserved characters and upper-cases the rest (RFC 3986 §6.2.2). */
function normalizePercentEncoding(path: string): string {
  if (!path.includes('%')) return path;
  return path.replace(/%([0-9a-fA-F]{2})/g, (m, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(ch) ? ch : m.toUpperCase();
  });
}

/** RFC 3986 remove_dot_segments. */
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

export function normalizePath(path: string, mergeSlashes: boolean): string {
  let p = removeDotSegments(normalizePercentEncoding(path));
  if (mergeSlashes) p = p.replace(/\/{2,}/g, '/');
  return p;
}

export interface RequestTarget {
  /** Present for absolute-form targets (`http://host:port/path`). */
  readonly authority: string | undefined;
  readonly scheme: string | undefined;
  readonly path: string;
  readonly query: string;
}

/** Splits a request-target in origin form or absolute form; undefined when malformed. */
export function parseRequestTarget(url: string): RequestTarget | undefined {
  let authority: string | undefined;
  let scheme: string | undefined;
  let rest = url;
  if (!url.startsWith('/')) {
    const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)(.*)$/.exec(url);
    if (!m) return undefined;
    scheme = (m[1] ?? '').toLowerCase();
    authority = m[2] ?? '';
    rest = m[3] || '/';
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
