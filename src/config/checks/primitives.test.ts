// Durations, regexes, hosts and labels: the syntax rules under every kind's checks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { durationProblem, parseDuration } from './duration.js';
import {
  fqdnProblem,
  ipOrCidrProblem,
  labelKeyProblem,
  labelValueProblem,
  wildcardHostProblem,
} from './names.js';
import { regexProblem } from './regex.js';

describe('durations (Go format)', () => {
  it('parses every unit exactly', () => {
    const ns = (s: string): bigint | undefined => {
      const d = parseDuration(s);
      return d.ok ? d.nanos : undefined;
    };
    assert.equal(ns('1h2m3.5s'), 3_723_500_000_000n);
    assert.equal(ns('100ms'), 100_000_000n);
    assert.equal(ns('1.5s'), 1_500_000_000n);
    assert.equal(ns('10us'), 10_000n);
    assert.equal(ns('10µs'), 10_000n);
    assert.equal(ns('7ns'), 7n);
    assert.equal(ns('0'), 0n);
    assert.equal(ns('-2s'), -2_000_000_000n);
    assert.equal(ns('.5s'), 500_000_000n);
    const d = parseDuration('2.25s');
    assert.ok(d.ok && d.seconds === 2.25);
  });
  it('rejects what Go rejects', () => {
    for (const bad of ['', '5', '1.5', 's', '1d', '1 s', '1s2', '..5s', 'abc']) {
      assert.equal(parseDuration(bad).ok, false, bad);
    }
  });
  it('wants at least 1ms, to the millisecond', () => {
    assert.equal(durationProblem('1ms'), undefined);
    assert.equal(durationProblem('0s'), 'duration must be at least 1ms (got "0s")');
    assert.equal(durationProblem('0s', { allowZero: true }), undefined);
    assert.equal(
      durationProblem('1500us'),
      'duration must be a whole number of milliseconds (got "1500us")',
    );
    assert.equal(durationProblem('-1s'), 'duration must be at least 1ms (got "-1s")');
  });
});

describe('regexes (RE2)', () => {
  it('accepts RE2 syntax, including what JavaScript lacks', () => {
    for (const ok of [
      '^/api/v[0-9]+/.*$',
      '(?i)^/Reviews',
      '(?P<id>[0-9]+)',
      '(?<id>[0-9]+)',
      '\\A/x\\z',
      '\\Q1+1\\E',
      '\\pL+',
      '\\p{Greek}',
      '[[:alpha:]]+',
      '\\x{41}',
      '[]a]',
      '(?s:.)',
      '\\.jpg$',
      '\\12',
      'a{2,1000}',
    ]) {
      assert.equal(regexProblem(ok), undefined, ok);
    }
  });
  it('rejects what RE2 rejects although JavaScript accepts it', () => {
    const cases: [string, string][] = [
      ['a(?=b)', 'invalid regex: lookahead (?=...) is not supported'],
      ['a(?!b)', 'invalid regex: lookahead (?!...) is not supported'],
      ['(?<=a)b', 'invalid regex: lookbehind (?<=...) is not supported'],
      ['(?<!a)b', 'invalid regex: lookbehind (?<!...) is not supported'],
      ['(a)\\1', 'invalid regex: backreference \\1 is not supported'],
      ['(?<x>a)\\k<x>', 'invalid regex: named backreference \\k<...> is not supported'],
      ['\\Z', 'invalid regex: unknown escape \\Z'],
      ['\\q', 'invalid regex: unknown escape \\q'],
      ['\\u0041', 'invalid regex: unknown escape \\u'],
      ['a{1001}', 'invalid regex: repeat count {1001} is larger than 1000'],
      ['[[:alfa:]]', 'invalid regex: unknown class [:alfa:]'],
    ];
    for (const [re, prefix] of cases) {
      assert.ok(regexProblem(re)?.startsWith(prefix), `${re}: ${regexProblem(re)}`);
    }
  });
  it('rejects what does not compile', () => {
    assert.equal(regexProblem('[a-'), 'invalid regex: Unterminated character class');
    assert.equal(regexProblem('(a'), 'invalid regex: Unterminated group');
    assert.equal(regexProblem('*a'), 'invalid regex: Nothing to repeat');
    assert.equal(regexProblem('a'.repeat(1025)), 'invalid regex: longer than 1024 characters');
  });
});

describe('hosts', () => {
  it('accepts host names, short names and leading wildcards', () => {
    for (const h of [
      'reviews',
      'reviews.default.svc.cluster.local',
      '*.example.com',
      '*',
      'istio.io.',
      'Example.COM',
    ]) {
      assert.equal(wildcardHostProblem(h), undefined, h);
    }
  });
  it('rejects ports, bad labels, inner wildcards, numeric TLDs', () => {
    assert.equal(
      wildcardHostProblem('a.example.com:80'),
      '"a.example.com:80" must not include a port',
    );
    assert.match(wildcardHostProblem('foo.*.com') ?? '', /label "\*" is invalid/);
    assert.match(wildcardHostProblem('a..b') ?? '', /label "" is invalid/);
    assert.match(wildcardHostProblem('1.2.3.4') ?? '', /all digits/);
    assert.equal(wildcardHostProblem(''), 'host must not be empty');
    assert.match(fqdnProblem('*.example.com') ?? '', /label "\*" is invalid/);
  });
  it('knows IPs and CIDRs', () => {
    assert.equal(ipOrCidrProblem('10.0.0.1'), undefined);
    assert.equal(ipOrCidrProblem('2001:db8::/32'), undefined);
    assert.equal(ipOrCidrProblem('10.0.0.0/33'), '"10.0.0.0/33" is not a valid CIDR block');
    assert.equal(ipOrCidrProblem('10.0.0'), '"10.0.0" is not a valid IP address or CIDR block');
  });
});

describe('labels', () => {
  it('follows Kubernetes syntax', () => {
    assert.equal(labelKeyProblem('app'), undefined);
    assert.equal(labelKeyProblem('app.kubernetes.io/name'), undefined);
    assert.match(labelKeyProblem('App.Example.com/name') ?? '', /prefix/);
    assert.match(labelKeyProblem('-app') ?? '', /name must be/);
    assert.match(labelKeyProblem('a'.repeat(64)) ?? '', /name must be/);
    assert.equal(labelValueProblem(''), undefined);
    assert.equal(labelValueProblem('v1.2_3-x'), undefined);
    assert.match(labelValueProblem('v1 ') ?? '', /invalid value/);
  });
});
