// Envoy's matchers compiled once per config update: StringMatcher, HeaderMatcher, query
// parameters, and the route's path match. Regexes are full matches, as Envoy's safe_regex.
import { ConfigError } from '../config-error.js';

export type Predicate<T> = (value: T) => boolean;

/** What routing looks at; built once per request by the connection manager. */
export interface RequestView {
  readonly method: string;
  readonly scheme: string;
  readonly authority: string;
  /** Path without the query string. */
  readonly path: string;
  /** Raw query string without `?` ('' when none). */
  readonly query: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

type Obj = Record<string, unknown>;

/**
 * RE2 syntax that JavaScript spells differently (Istio and Envoy regexes are RE2, and config
 * validation accepts them): leading flags `(?i)` / `(?s)`, and named groups `(?P<name>...)`.
 */
function fromRe2(pattern: string): { source: string; flags: string } {
  const lead = /^\(\?([is]+)\)/.exec(pattern);
  const flags = lead ? [...new Set(lead[1])].join('') : '';
  const body = lead ? pattern.slice(lead[0].length) : pattern;
  return { source: body.replace(/(^|[^\\])\(\?P</g, '$1(?<'), flags };
}

/** A regex that must match the whole value, as Envoy's safe_regex (RE2 full match). */
export function compileRegex(pattern: string, field: string, flags = ''): RegExp {
  const re2 = fromRe2(pattern);
  try {
    return new RegExp(`^(?:${re2.source})$`, [...new Set(flags + re2.flags)].join(''));
  } catch (e) {
    throw new ConfigError(
      field,
      `regex ${JSON.stringify(pattern)} does not compile: ${(e as Error).message}`,
    );
  }
}

/** An RE2 pattern for searching (not anchored), global: regex_rewrite replaces every match. */
export function compileSearchRegex(pattern: string, field: string): RegExp {
  const re2 = fromRe2(pattern);
  try {
    return new RegExp(re2.source, [...new Set('g' + re2.flags)].join(''));
  } catch (e) {
    throw new ConfigError(
      field,
      `regex ${JSON.stringify(pattern)} does not compile: ${(e as Error).message}`,
    );
  }
}

/** envoy.type.matcher.v3.StringMatcher */
export function compileStringMatcher(m: Obj, field: string): Predicate<string> {
  const ignoreCase = m['ignore_case'] === true;
  const norm = ignoreCase ? (s: string) => s.toLowerCase() : (s: string) => s;
  if (typeof m['exact'] === 'string') {
    const want = norm(m['exact']);
    return (v) => norm(v) === want;
  }
  if (typeof m['prefix'] === 'string') {
    const want = norm(m['prefix']);
    return (v) => norm(v).startsWith(want);
  }
  if (typeof m['suffix'] === 'string') {
    const want = norm(m['suffix']);
    return (v) => norm(v).endsWith(want);
  }
  if (typeof m['contains'] === 'string') {
    const want = norm(m['contains']);
    return (v) => norm(v).includes(want);
  }
  const safe = m['safe_regex'] as Obj | undefined;
  if (safe && typeof safe['regex'] === 'string') {
    // ignore_case "has no effect for the safe_regex match" (StringMatcher docs).
    const re = compileRegex(safe['regex'], `${field}.safe_regex.regex`);
    return (v) => re.test(v);
  }
  throw new ConfigError(
    field,
    'a StringMatcher needs one of exact, prefix, suffix, contains, safe_regex',
  );
}

function headerValue(req: RequestView, name: string): string | undefined {
  switch (name) {
    case ':method':
      return req.method;
    case ':authority':
    case 'host':
      return req.authority;
    case ':scheme':
      return req.scheme;
    case ':path':
      return req.query ? `${req.path}?${req.query}` : req.path;
  }
  const v = req.headers[name];
  // Envoy matches a repeated header against its values joined with ','.
  return Array.isArray(v) ? v.join(',') : v;
}

/** envoy.config.route.v3.HeaderMatcher */
export function compileHeaderMatcher(h: Obj, field: string): Predicate<RequestView> {
  const name = String(h['name'] ?? '').toLowerCase();
  if (!name) throw new ConfigError(`${field}.name`, 'a header matcher needs a name');
  const invert = h['invert_match'] === true;
  const missingAsEmpty = h['treat_missing_header_as_empty'] === true;
  /** present_match's value (true also for a matcher without specifier); else undefined. */
  let presence: boolean | undefined;
  let test: Predicate<string>;
  if (h['string_match']) {
    test = compileStringMatcher(h['string_match'] as Obj, `${field}.string_match`);
  } else if (h['present_match'] !== undefined) {
    const want = h['present_match'] === true;
    presence = want;
    test = () => want;
  } else if (typeof h['exact_match'] === 'string') {
    const want = h['exact_match'];
    test = (v) => v === want;
  } else if (typeof h['prefix_match'] === 'string') {
    const want = h['prefix_match'];
    test = (v) => v.startsWith(want);
  } else {
    // No match specifier: Envoy treats it as "header present".
    presence = true;
    test = () => true;
  }
  return (req) => {
    const v = headerValue(req, name);
    if (v === undefined && !missingAsEmpty) {
      // Envoy (HeaderMatcher docs, treat_missing_header_as_empty): an absent header is ignored,
      // so only a present_match can hold, and invert_match flips which one.
      return presence !== undefined && presence === invert;
    }
    return test(v ?? '') !== invert;
  };
}

function queryParam(query: string, name: string): string | undefined {
  if (!query) return undefined;
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (decodeComponent(key) === name) return eq < 0 ? '' : decodeComponent(pair.slice(eq + 1));
  }
  return undefined;
}

function decodeComponent(s: string): string {
  try {
    return decodeURIComponent(s.replaceAll('+', ' '));
  } catch {
    return s;
  }
}

/** envoy.config.route.v3.QueryParameterMatcher */
export function compileQueryMatcher(q: Obj, field: string): Predicate<RequestView> {
  const name = String(q['name'] ?? '');
  if (q['string_match']) {
    const sm = compileStringMatcher(q['string_match'] as Obj, `${field}.string_match`);
    return (req) => {
      const v = queryParam(req.query, name);
      return v !== undefined && sm(v);
    };
  }
  return (req) => queryParam(req.query, name) !== undefined;
}

/** envoy.config.route.v3.RouteMatch → one predicate over the request. */
export function compileRouteMatch(m: Obj, field: string): Predicate<RequestView> {
  const caseSensitive = m['case_sensitive'] !== false;
  const norm = caseSensitive ? (s: string) => s : (s: string) => s.toLowerCase();
  let pathTest: Predicate<string>;
  if (typeof m['prefix'] === 'string') {
    const want = norm(m['prefix']);
    pathTest = (p) => norm(p).startsWith(want);
  } else if (typeof m['path'] === 'string') {
    const want = norm(m['path']);
    pathTest = (p) => norm(p) === want;
  } else if (m['safe_regex']) {
    // case_sensitive is "ignored for safe_regex matching" (RouteMatch docs).
    const re = compileRegex(String((m['safe_regex'] as Obj)['regex']), `${field}.safe_regex.regex`);
    pathTest = (p) => re.test(p);
  } else if (typeof m['path_separated_prefix'] === 'string') {
    const want = norm(m['path_separated_prefix']);
    pathTest = (p) => {
      const n = norm(p);
      return n === want || (n.startsWith(want) && (want.endsWith('/') || n[want.length] === '/'));
    };
  } else if (m['connect_matcher'] !== undefined) {
    // CONNECT requests only: their authority-form target leaves the view's path empty, which
    // no other request has (and path matchers never match it, as in Envoy).
    pathTest = (p) => p === '';
  } else {
    throw new ConfigError(
      field,
      'a route match needs one of prefix, path, safe_regex, path_separated_prefix, connect_matcher',
    );
  }
  const headers = ((m['headers'] as Obj[] | undefined) ?? []).map((h, i) =>
    compileHeaderMatcher(h, `${field}.headers[${i}]`),
  );
  const query = ((m['query_parameters'] as Obj[] | undefined) ?? []).map((q, i) =>
    compileQueryMatcher(q, `${field}.query_parameters[${i}]`),
  );
  if (headers.length === 0 && query.length === 0) return (req) => pathTest(req.path);
  return (req) => pathTest(req.path) && headers.every((h) => h(req)) && query.every((q) => q(req));
}
