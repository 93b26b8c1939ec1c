import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizePath, parseRequestTarget, removeDotSegments } from './path.js';

test('remove_dot_segments (RFC 3986 §5.2.4)', () => {
  assert.equal(removeDotSegments('/a/./b/../c'), '/a/c');
  assert.equal(removeDotSegments('/a/b/c/./../../g'), '/a/g');
  assert.equal(removeDotSegments('/a/b/..'), '/a/');
  assert.equal(removeDotSegments('/a/b/.'), '/a/b/');
  assert.equal(removeDotSegments('/../a'), '/a');
  assert.equal(removeDotSegments('/..'), '/');
  assert.equal(removeDotSegments('/a/..b/c.'), '/a/..b/c.');
  assert.equal(removeDotSegments('/plain/path'), '/plain/path');
});

test('normalize_path: unreserved escapes decoded, others upper-cased, then dot segments', () => {
  assert.equal(normalizePath('/%41%62c', false), '/Abc');
  assert.equal(normalizePath('/a%2fb', false), '/a%2Fb', 'an escaped slash stays escaped');
  assert.equal(normalizePath('/%7e/%2d%2E%5F', false), '/~/-._');
  assert.equal(normalizePath('/a/%2e%2e/b', false), '/b', 'escaped dots are dots');
  assert.equal(normalizePath('/a%20b', false), '/a%20b');
  assert.equal(normalizePath('/a/./b/../c', false), '/a/c');
});

test('merge_slashes', () => {
  assert.equal(normalizePath('//a///b/', true), '/a/b/');
  assert.equal(normalizePath('//a///b/', false), '//a///b/');
});

test('request targets: origin form, absolute form, query, fragment', () => {
  assert.deepEqual(parseRequestTarget('/a/b?x=1&y'), {
    authority: undefined,
    scheme: undefined,
    path: '/a/b',
    query: 'x=1&y',
  });
  assert.deepEqual(parseRequestTarget('http://reviews:9080/r/0?u=jason'), {
    authority: 'reviews:9080',
    scheme: 'http',
    path: '/r/0',
    query: 'u=jason',
  });
  assert.deepEqual(parseRequestTarget('HTTP://example.com'), {
    authority: 'example.com',
    scheme: 'http',
    path: '/',
    query: '',
  });
  assert.deepEqual(parseRequestTarget('http://example.com?q'), {
    authority: 'example.com',
    scheme: 'http',
    path: '/',
    query: 'q',
  });
  assert.deepEqual(parseRequestTarget('/p#frag?not-a-query'), {
    authority: undefined,
    scheme: undefined,
    path: '/p',
    query: '',
  });
  assert.deepEqual(parseRequestTarget('http://[::1]:8080/x'), {
    authority: '[::1]:8080',
    scheme: 'http',
    path: '/x',
    query: '',
  });
  assert.equal(parseRequestTarget('example.com:443'), undefined, 'authority form (CONNECT)');
  assert.equal(parseRequestTarget('*'), undefined);
  assert.equal(parseRequestTarget(''), undefined);
});
