// Envoy's matchers compiled once per config update: StringMatcher, HeaderMatcher, query
// parameters, and the route's path match. Regexes are full matches, as Envoy's safe_regex.
import { ConfigError } from '../config-error.js';
import { planPredicate, planPrefix, planRegex } from './regex-plan.js';

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

/**
 * A full-match predicate for an RE2 pattern: compileRegex's answer, reached without running the
 * RegExp where the pattern's shape allows (regex-plan.ts).
 */
export function compileFullMatch(pattern: string, field: string): Predicate<string> {
  const re = compileRegex(pattern, field);
  const re2 = fromRe2(pattern);
  return planPredicate(planRegex(re2.source, re.flags), re);
}

/** What every value the full match of an RE2 pattern accepts starts with ('' if unknown). */
export function fullMatchPrefix(pattern: string): string {
  const re2 = fromRe2(pattern);
  const flags = [...new Set(re2.flags)].join('');
  return planPrefix(planRegex(re2.source, flags));
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
  // Case-sensitive matchers compare the value as it is: no copy of it per request.
  if (typeof m['exact'] === 'string') {
    const want = m['exact'];
    if (!ignoreCase) return (v) => v === want;
    const lower = want.toLowerCase();
    return (v) => v.toLowerCase() === lower;
  }
  if (typeof m['prefix'] === 'string') {
    const want = m['prefix'];
    if (!ignoreCase) return (v) => v.startsWith(want);
    const lower = want.toLowerCase();
    return (v) => v.toLowerCase().startsWith(lower);
  }
  if (typeof m['suffix'] === 'string') {
    const want = m['suffix'];
    if (!ignoreCase) return (v) => v.endsWith(want);
    const lower = want.toLowerCase();
    return (v) => v.toLowerCase().endsWith(lower);
  }
  if (typeof m['contains'] === 'string') {
    const want = m['contains'];
    if (!ignoreCase) return (v) => v.includes(want);
    const lower = want.toLowerCase();
    return (v) => v.toLowerCase().includes(lower);
  }
  const safe = m['safe_regex'] as Obj | undefined;
  if (safe && typeof safe['regex'] === 'string') {
    // ignore_case "has no effect for the safe_regex match" (StringMatcher docs).
    return compileFullMatch(safe['regex'], `${field}.safe_regex.regex`);
  }
  throw new ConfigError(
    field,
    'a StringMatcher needs one of exact, prefix, suffix, contains, safe_regex',
  );
}

type HeaderGetter = (req: RequestView) => string | undefined;

const fullPath: HeaderGetter = (req) => (req.query ? `${req.path}?${req.query}` : req.path);

/** How a matcher reads its header, chosen once per (lower-case) name. */
function headerGetter(name: string): HeaderGetter {
  switch (name) {
    case ':method':
      return (req) => req.method;
    case ':authority':
    case 'host':
      return (req) => req.authority;
    case ':scheme':
      return (req) => req.scheme;
    case ':path':
      return fullPath;
  }
  return (req) => {
    const v = req.headers[name];
    // Envoy matches a repeated header against its values joined with ','.
    return typeof v === 'string' || v === undefined ? v : v.join(',');
  };
}

/** envoy.config.route.v3.HeaderMatcher */
export function compileHeaderMatcher(h: Obj, field: string): Predicate<RequestView> {
  return compileHeader(h, field).matches;
}

interface CompiledHeader {
  readonly matches: Predicate<RequestView>;
  /** Its lower-case name. */
  readonly name: string;
  /** What the matcher answers for a request without the header. */
  readonly absentMatches: boolean;
}

function compileHeader(h: Obj, field: string): CompiledHeader {
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
  const headerValue = headerGetter(name);
  // Envoy (HeaderMatcher docs, treat_missing_header_as_empty): an absent header is ignored, so
  // only a present_match can hold, and invert_match flips which one.
  const absent = missingAsEmpty
    ? test('') !== invert
    : presence !== undefined && presence === invert;
  return {
    name,
    absentMatches: absent,
    matches: (req) => {
      const v = headerValue(req);
      return v === undefined ? absent : test(v) !== invert;
    },
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
  return compileGuardedRouteMatch(m, field).matches;
}

/** A RouteMatch's predicate, and its guard (what every request the predicate accepts meets). */
export function compileGuardedRouteMatch(
  m: Obj,
  field: string,
): { matches: Predicate<RequestView>; guard: RouteGuard } {
  const caseSensitive = m['case_sensitive'] !== false;
  const norm = caseSensitive ? (s: string) => s : (s: string) => s.toLowerCase();
  let pathTest: Predicate<string>;
  /** What every path pathTest accepts starts with. */
  let pathPrefix = '';
  if (typeof m['prefix'] === 'string') {
    const want = norm(m['prefix']);
    if (caseSensitive) pathPrefix = want;
    pathTest = caseSensitive ? (p) => p.startsWith(want) : (p) => norm(p).startsWith(want);
  } else if (typeof m['path'] === 'string') {
    const want = norm(m['path']);
    if (caseSensitive) pathPrefix = want;
    pathTest = caseSensitive ? (p) => p === want : (p) => norm(p) === want;
  } else if (m['safe_regex']) {
    // case_sensitive is "ignored for safe_regex matching" (RouteMatch docs).
    const pattern = String((m['safe_regex'] as Obj)['regex']);
    pathTest = compileFullMatch(pattern, `${field}.safe_regex.regex`);
    pathPrefix = fullMatchPrefix(pattern);
  } else if (typeof m['path_separated_prefix'] === 'string') {
    const want = norm(m['path_separated_prefix']);
    if (caseSensitive) pathPrefix = want;
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
    compileHeader(h, `${field}.headers[${i}]`),
  );
  const queries = ((m['query_parameters'] as Obj[] | undefined) ?? []).map((q, i) =>
    compileQueryMatcher(q, `${field}.query_parameters[${i}]`),
  );
  const guard: RouteGuard = {
    pathPrefix,
    // A regular header (the view's pseudo-headers and host are not in `headers`) whose matcher
    // refuses a request without it.
    header: headers.find((h) => !h.absentMatches && !h.name.startsWith(':') && h.name !== 'host')
      ?.name,
    // Every query parameter matcher refuses a request without that parameter.
    needsQuery: queries.length > 0,
  };
  // Header and query matchers in one list, in config order (headers first), walked without a
  // closure per request.
  const rest = [...headers.map((h) => h.matches), ...queries];
  if (rest.length === 0) return { guard, matches: (req) => pathTest(req.path) };
  if (rest.length === 1) {
    const only = rest[0]!;
    return { guard, matches: (req) => pathTest(req.path) && only(req) };
  }
  return {
    guard,
    matches: (req) => {
      if (!pathTest(req.path)) return false;
      for (let i = 0; i < rest.length; i++) if (!rest[i]!(req)) return false;
      return true;
    },
  };
}

/**
 * Conditions that every request a RouteMatch accepts meets, cheap enough to check inline while
 * walking a virtual host's routes, before calling the route's predicate (which decides: a
 * request that meets the guard may still not match, one that does not never matches).
 */
export interface RouteGuard {
  /** The path starts with this ('' when nothing is known). */
  readonly pathPrefix: string;
  /** This header is in `headers` (a regular header's lower-case name), when set. */
  readonly header: string | undefined;
  /** The query string is not empty (the route has a query parameter matcher). */
  readonly needsQuery: boolean;
}

/** True when the request meets the guard (so the route's predicate is worth calling). */
export function passesGuard(g: RouteGuard, req: RequestView): boolean {
  return (
    req.path.startsWith(g.pathPrefix) &&
    (!g.needsQuery || req.query !== '') &&
    (g.header === undefined || req.headers[g.header] !== undefined)
  );
}
