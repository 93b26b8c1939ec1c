import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../config-error.js';
import type { RequestView } from './matchers.js';
import {
  compileHeaderMatcher,
  compileQueryMatcher,
  compileRegex,
  compileRouteMatch,
  compileStringMatcher,
} from './matchers.js';

function req(over: Partial<RequestView> = {}): RequestView {
  return {
    method: 'GET',
    scheme: 'http',
    authority: 'reviews:9080',
    path: '/',
    query: '',
    headers: {},
    ...over,
  };
}

describe('StringMatcher', () => {
  test('exact, prefix, suffix, contains; ignore_case for those', () => {
    const m = (spec: Record<string, unknown>, v: string) => compileStringMatcher(spec, 'm')(v);
    assert.ok(m({ exact: 'abc' }, 'abc'));
    assert.ok(!m({ exact: 'abc' }, 'abcd'));
    assert.ok(!m({ exact: 'abc' }, 'ABC'));
    assert.ok(m({ exact: 'abc', ignore_case: true }, 'ABC'));
    assert.ok(m({ prefix: '/api' }, '/api/v1'));
    assert.ok(!m({ prefix: '/api' }, '/API/v1'));
    assert.ok(m({ prefix: '/api', ignore_case: true }, '/API/v1'));
    assert.ok(m({ suffix: '.js' }, 'a.js'));
    assert.ok(m({ contains: 'ell', ignore_case: true }, 'HELLO'));
    // An empty exact is a real matcher: it matches the empty string only.
    assert.ok(m({ exact: '' }, ''));
    assert.ok(!m({ exact: '' }, 'x'));
  });

  test('safe_regex is a full match, and ignore_case has no effect on it (Envoy)', () => {
    const m = (regex: string, v: string, ignore_case = false) =>
      compileStringMatcher({ safe_regex: { regex }, ignore_case }, 'm')(v);
    assert.ok(m('v[0-9]', 'v1'));
    assert.ok(!m('v[0-9]', 'v12'));
    assert.ok(!m('v[0-9]', 'xv1'));
    assert.ok(m('a|b', 'b'));
    assert.ok(!m('a|b', 'ab'), 'alternation stays inside the full match');
    assert.ok(!m('v[0-9]', 'V1', true));
  });

  test('RE2 syntax JavaScript lacks: leading (?i) and (?s), named groups (?P<n>…)', () => {
    const re = compileRegex('(?i)/api/.*', 'f');
    assert.ok(re.test('/API/x'));
    assert.ok(compileRegex('(?s)a.b', 'f').test('a\nb'));
    assert.ok(compileRegex('/users/(?P<id>[0-9]+)', 'f').test('/users/42'));
    assert.ok(!compileRegex('/users/(?P<id>[0-9]+)', 'f').test('/users/x'));
    // A literal "\(?P<" stays literal.
    assert.ok(compileRegex('\\(?P<x>', 'f').test('P<x>'));
  });

  test('a matcher without a kind, or a regex that does not compile, is a ConfigError naming the field', () => {
    assert.throws(
      () => compileStringMatcher({}, 'routes[0].match.headers[0].string_match'),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.field, 'routes[0].match.headers[0].string_match');
        assert.equal(e.code, 'ERR_XDS_RESOURCE');
        return true;
      },
    );
    assert.throws(
      () => compileStringMatcher({ safe_regex: { regex: '(' } }, 'sm'),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.field === 'sm.safe_regex.regex' &&
        /does not compile/.test(e.message),
    );
  });
});

describe('HeaderMatcher', () => {
  const h = (spec: Record<string, unknown>, headers: RequestView['headers']) =>
    compileHeaderMatcher({ name: 'x-user', ...spec }, 'h')(req({ headers }));

  test('string_match on the value; present_match on presence; invert_match flips both', () => {
    assert.ok(h({ string_match: { exact: 'jason' } }, { 'x-user': 'jason' }));
    assert.ok(!h({ string_match: { exact: 'jason' } }, { 'x-user': 'bob' }));
    assert.ok(h({ string_match: { exact: 'jason' }, invert_match: true }, { 'x-user': 'bob' }));
    assert.ok(h({ present_match: true }, { 'x-user': '' }));
    assert.ok(!h({ present_match: true }, {}));
    assert.ok(h({ present_match: false }, {}));
    assert.ok(!h({ present_match: false }, { 'x-user': 'a' }));
    assert.ok(h({ present_match: true, invert_match: true }, {}));
    assert.ok(!h({ present_match: true, invert_match: true }, { 'x-user': 'a' }));
    // Legacy specifiers and no specifier at all ("present").
    assert.ok(h({ exact_match: 'a' }, { 'x-user': 'a' }));
    assert.ok(h({ prefix_match: 'ja' }, { 'x-user': 'jason' }));
    assert.ok(h({}, { 'x-user': 'a' }));
    assert.ok(!h({}, {}));
  });

  test('regression: an absent header never matches a value matcher, inverted or not (Envoy)', () => {
    // HeaderMatcher docs: with treat_missing_header_as_empty false, an absent header is ignored
    // and the rule does not match, even with invert_match.
    assert.ok(!h({ string_match: { exact: 'jason' } }, {}));
    assert.ok(!h({ string_match: { exact: 'jason' }, invert_match: true }, {}));
    assert.ok(!h({ string_match: { safe_regex: { regex: '' } } }, {}));
  });

  test('treat_missing_header_as_empty: an absent header is the empty string', () => {
    const missing = { treat_missing_header_as_empty: true };
    assert.ok(h({ ...missing, string_match: { exact: 'jason' }, invert_match: true }, {}));
    assert.ok(h({ ...missing, string_match: { safe_regex: { regex: '' } } }, {}));
    assert.ok(!h({ ...missing, string_match: { exact: 'jason' } }, {}));
  });

  test('names are case-insensitive; repeated headers join with ","; pseudo-headers read the request', () => {
    assert.ok(
      compileHeaderMatcher(
        { name: 'X-User', string_match: { exact: 'a' } },
        'h',
      )(req({ headers: { 'x-user': 'a' } })),
    );
    assert.ok(h({ string_match: { exact: 'a,b' } }, { 'x-user': ['a', 'b'] }));
    const pseudo = (name: string, exact: string, r: Partial<RequestView>) =>
      compileHeaderMatcher({ name, string_match: { exact } }, 'h')(req(r));
    assert.ok(pseudo(':method', 'POST', { method: 'POST' }));
    assert.ok(pseudo(':authority', 'reviews:9080', {}));
    assert.ok(pseudo('host', 'reviews:9080', {}));
    assert.ok(pseudo(':scheme', 'https', { scheme: 'https' }));
    assert.ok(pseudo(':path', '/a?b=1', { path: '/a', query: 'b=1' }));
    assert.throws(() => compileHeaderMatcher({ string_match: { exact: 'a' } }, 'hm'), /hm\.name/);
  });
});

describe('QueryParameterMatcher', () => {
  const q = (spec: Record<string, unknown>, query: string) =>
    compileQueryMatcher({ name: 'debug', ...spec }, 'q')(req({ query }));

  test('values are matched decoded; a key without value is present and empty', () => {
    assert.ok(q({ string_match: { exact: '1' } }, 'debug=1'));
    assert.ok(q({ string_match: { exact: '1' } }, 'a=b&debug=1&c'));
    assert.ok(!q({ string_match: { exact: '1' } }, 'debug=12'));
    assert.ok(q({ string_match: { exact: 'a b/c' } }, 'debug=a+b%2Fc'));
    assert.ok(q({ string_match: { exact: '' } }, 'debug'));
    assert.ok(!q({ string_match: { exact: '1' } }, ''));
    assert.ok(q({ present_match: true }, 'x=1&debug'));
    assert.ok(!q({ present_match: true }, 'x=1&debugger=1'));
    // The first occurrence counts.
    assert.ok(q({ string_match: { exact: '1' } }, 'debug=1&debug=2'));
  });
});

describe('RouteMatch', () => {
  const match = (m: Record<string, unknown>, r: Partial<RequestView>) =>
    compileRouteMatch(m, 'match')(req(r));

  test('prefix, path, safe_regex (full match), path_separated_prefix', () => {
    assert.ok(match({ prefix: '/api' }, { path: '/apis' }));
    assert.ok(
      match({ path: '/a' }, { path: '/a', query: 'x=1' }),
      'the query is not part of the path',
    );
    assert.ok(!match({ path: '/a' }, { path: '/a/' }));
    assert.ok(match({ safe_regex: { regex: '/r/[0-9]+' } }, { path: '/r/42' }));
    assert.ok(!match({ safe_regex: { regex: '/r/[0-9]+' } }, { path: '/r/42/x' }));
    assert.ok(match({ path_separated_prefix: '/api' }, { path: '/api' }));
    assert.ok(match({ path_separated_prefix: '/api' }, { path: '/api/v1' }));
    assert.ok(!match({ path_separated_prefix: '/api' }, { path: '/apis' }));
  });

  test('case_sensitive false: case-insensitive prefix and path, but not safe_regex (Envoy)', () => {
    assert.ok(match({ prefix: '/API', case_sensitive: false }, { path: '/api/x' }));
    assert.ok(match({ path: '/Login', case_sensitive: false }, { path: '/LOGIN' }));
    assert.ok(!match({ prefix: '/API' }, { path: '/api/x' }));
    // RouteMatch docs: case_sensitive is "ignored for safe_regex matching".
    assert.ok(
      !match({ safe_regex: { regex: '/API/.*' }, case_sensitive: false }, { path: '/api/x' }),
    );
  });

  test('headers and query parameters must all hold', () => {
    const m = {
      prefix: '/',
      headers: [{ name: 'end-user', string_match: { exact: 'jason' } }],
      query_parameters: [{ name: 'v', string_match: { exact: '2' } }],
    };
    assert.ok(match(m, { headers: { 'end-user': 'jason' }, query: 'v=2' }));
    assert.ok(!match(m, { headers: { 'end-user': 'jason' }, query: 'v=1' }));
    assert.ok(!match(m, { headers: {}, query: 'v=2' }));
  });

  test('a match without a path specifier is a ConfigError naming the field path', () => {
    assert.throws(() => compileRouteMatch({}, 'routes[3].match'), /^Error: routes\[3\]\.match: /);
    assert.throws(
      () => compileRouteMatch({ prefix: '/', headers: [{ name: 'x', string_match: {} }] }, 'match'),
      (e: unknown) => e instanceof ConfigError && e.field === 'match.headers[0].string_match',
    );
  });
});
