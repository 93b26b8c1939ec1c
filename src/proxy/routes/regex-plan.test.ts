// The regex fast paths must answer exactly as the full-match RegExp does: every pattern here is
// checked against the RegExp on a spread of inputs, tricky ones included.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileFullMatch, compileRegex } from './matchers.js';
import { planRegex, type RegexPlan } from './regex-plan.js';

/** The JavaScript source and flags compileRegex gives a pattern (inside its `^(?:…)$`). */
function plan(pattern: string): RegexPlan {
  const re = compileRegex(pattern, 'f');
  const inner = re.source.slice('^(?:'.length, -')$'.length);
  return planRegex(inner, re.flags);
}

/** A small deterministic generator (mulberry32), so failures reproduce. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Inputs for a pattern: hand-picked ones, and strings built from the pattern's characters. */
function inputs(pattern: string, extra: readonly string[]): string[] {
  const alphabet = [
    ...new Set([...pattern, 'a', 'A', 'z', '0', '9', '/', '.', '\n', '\r', '\u2028']),
  ];
  const rnd = random(pattern.length * 7919 + 17);
  const out = new Set<string>(['', '/', ...extra]);
  for (let n = 0; n < 400; n++) {
    const len = Math.floor(rnd() * 14);
    let s = '';
    for (let i = 0; i < len; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    out.add(s);
    // The literal start of the pattern then noise: the inputs a prefix check is about.
    out.add(pattern.replace(/[\\^$]/g, '').slice(0, Math.floor(rnd() * pattern.length)) + s);
  }
  return [...out];
}

function assertSameAnswers(pattern: string, extra: readonly string[] = []): void {
  const re = compileRegex(pattern, 'f');
  const fast = compileFullMatch(pattern, 'f');
  for (const v of inputs(pattern, extra)) {
    assert.equal(fast(v), re.test(v), `${JSON.stringify(pattern)} on ${JSON.stringify(v)}`);
  }
}

describe('regex plans', () => {
  test('literals, literal then .*, literal prefixes; anything else is left to the RegExp', () => {
    assert.deepEqual(plan('/api/v1'), { kind: 'exact', literal: '/api/v1' });
    assert.deepEqual(plan('/.*'), { kind: 'prefix-any', prefix: '/', dotAll: false });
    assert.deepEqual(plan('(?s)/static/.*'), {
      kind: 'prefix-any',
      prefix: '/static/',
      dotAll: true,
    });
    assert.deepEqual(plan('/api/v0/[a-z]+/[0-9]{1,6}(/.*)?'), {
      kind: 'prefix',
      prefix: '/api/v0/',
    });
    assert.deepEqual(plan('tenant-3-[a-f0-9]{8}'), { kind: 'prefix', prefix: 'tenant-3-' });
    assert.deepEqual(plan('\\/a\\.b'), { kind: 'exact', literal: '/a.b' });
    assert.deepEqual(plan('^/a$'), { kind: 'exact', literal: '/a' });
    assert.deepEqual(plan('/a.*$'), { kind: 'prefix-any', prefix: '/a', dotAll: false });
    // A quantified character is not part of the literal.
    assert.deepEqual(plan('/ab?c'), { kind: 'prefix', prefix: '/a' });
    assert.deepEqual(plan('/ab*'), { kind: 'prefix', prefix: '/a' });
    assert.deepEqual(plan('/ab{2}'), { kind: 'prefix', prefix: '/a' });
    assert.deepEqual(plan('\\.?x'), { kind: 'regex' });
    // Alternation at the top, case-insensitive matching, escapes of classes: the RegExp alone.
    assert.deepEqual(plan('/a|/b'), { kind: 'regex' });
    assert.deepEqual(plan('(?i)/api/.*'), { kind: 'regex' });
    assert.deepEqual(plan('\\d+'), { kind: 'regex' });
    assert.deepEqual(plan('.*/x'), { kind: 'regex' });
    // Alternation inside a group or a class does not stop the prefix.
    assert.deepEqual(plan('/v(1|2)'), { kind: 'prefix', prefix: '/v' });
    assert.deepEqual(plan('/v[|]x'), { kind: 'prefix', prefix: '/v' });
  });

  test('every fast path answers as the RegExp does', () => {
    const patterns = [
      // Literals and literal then .*
      '/api/v1',
      '',
      '/',
      '/.*',
      '.*',
      '/static/.*',
      '(?s)/static/.*',
      '(?s).*',
      '^/a$',
      '^',
      '/a.*$',
      // Escapes: of syntax characters, of ordinary punctuation, of classes and assertions.
      '\\/a\\.b',
      '/a\\.b.*',
      '/a\\$',
      '/a\\\\b',
      '/a\\-b\\_c',
      '\\(?P<x>',
      '/x\\d+',
      '/x\\b.*',
      '/x\\.?y',
      // Quantifiers right after the literal.
      '/ab?c',
      '/ab*',
      '/ab+',
      '/ab{2}',
      '/ab{2,}c',
      '/a{',
      // Alternation, optional groups.
      'a|b',
      '/a|/b',
      '/v(1|2)/.*',
      '/v(?:1|2)?',
      '/api/v0/[a-z]+/[0-9]{1,6}(/.*)?',
      '/users/(?P<id>[0-9]+)',
      '/v[|]x',
      '/v[]]x',
      '/v[^]x',
      // Case-insensitive, dotAll, anchors in the middle, lookahead.
      '(?i)/api/.*',
      '(?i)abc',
      '(?is)a.*',
      '(?s)a.b',
      'a$b',
      '/a(?=b).*',
      'tenant-3-[a-f0-9]{8}',
      // Characters outside ASCII, a surrogate pair, a quantified low surrogate.
      '/é/.*',
      '/😀x',
      '/😀?x',
    ];
    for (const p of patterns) {
      assertSameAnswers(p, [
        '/api/v1',
        '/api/v1/',
        '/API/V1',
        '/api/v0/abc/123',
        '/api/v0/abc/1234567',
        '/api/v0/abc/12/x/y',
        '/static/a\nb',
        '/static/a\rb',
        '/static/\u2028',
        '/a.b',
        '/axb',
        '/a$',
        '/a\\b',
        '/a-b_c',
        'P<x>',
        '(P<x>',
        '/x12',
        '/x.y',
        '/xy',
        '/ac',
        '/abc',
        '/abbb',
        '/abb',
        '/abbc',
        '/a{',
        'a',
        'b',
        'ab',
        '/a',
        '/b',
        '/v1/x',
        '/v2',
        '/v',
        '/users/42',
        '/users/x',
        '/v|x',
        '/v]x',
        '/vzx',
        'A\nB',
        'a\nb',
        '/ab',
        'tenant-3-0123abcd',
        'tenant-3-0123ABCD',
        '/é/x',
        '/😀x',
        '/x',
        '/\ud83dx',
      ]);
    }
  });
});
