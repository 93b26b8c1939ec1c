import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  hostMatches,
  hostsIntersect,
  isWildcard,
  kubernetesParts,
  narrowerHost,
  resolveHost,
} from './hosts.js';

test('short names resolve in the namespace; names with a dot and "*" stay as written', () => {
  assert.equal(resolveHost('reviews', 'default'), 'reviews.default.svc.cluster.local');
  assert.equal(resolveHost('Reviews', 'bookinfo'), 'reviews.bookinfo.svc.cluster.local');
  // Istio's ResolveShortnameToFQDN: anything with a dot is taken as complete, even `name.ns`.
  assert.equal(resolveHost('reviews.other', 'default'), 'reviews.other');
  assert.equal(resolveHost('api.Example.com', 'default'), 'api.example.com');
  assert.equal(resolveHost('*', 'default'), '*');
  assert.equal(resolveHost('*.example.com', 'default'), '*.example.com');
});

test('wildcards match by suffix, never the bare suffix domain', () => {
  assert.ok(isWildcard('*.example.com'));
  assert.ok(!isWildcard('example.com'));
  assert.ok(hostMatches('*', 'anything.at.all'));
  assert.ok(hostMatches('a.example.com', 'a.example.com'));
  assert.ok(!hostMatches('a.example.com', 'b.example.com'));
  assert.ok(hostMatches('*.example.com', 'a.example.com'));
  assert.ok(hostMatches('*.example.com', 'a.b.example.com'));
  assert.ok(!hostMatches('*.example.com', 'example.com'));
  assert.ok(!hostMatches('*.example.com', 'badexample.com'));
  // A wildcard host is matched by a wider wildcard, not by a narrower one.
  assert.ok(hostMatches('*.com', '*.example.com'));
  assert.ok(!hostMatches('*.example.com', '*.com'));
  // A concrete pattern does not match a wildcard host.
  assert.ok(!hostMatches('a.example.com', '*.example.com'));
  assert.ok(hostMatches('*.svc.cluster.local', 'reviews.default.svc.cluster.local'));
});

test('hosts intersect when either matches the other; the narrower names the virtual host', () => {
  assert.ok(hostsIntersect('*', 'reviews.example.com'));
  assert.ok(hostsIntersect('reviews.example.com', '*.example.com'));
  assert.ok(hostsIntersect('*.example.com', '*.a.example.com'));
  assert.ok(!hostsIntersect('*.example.com', '*.example.org'));
  assert.equal(narrowerHost('*', 'bookinfo.example.com'), 'bookinfo.example.com');
  assert.equal(narrowerHost('bookinfo.example.com', '*'), 'bookinfo.example.com');
  assert.equal(narrowerHost('*.example.com', '*'), '*.example.com');
  assert.equal(narrowerHost('*', '*.a.example.com'), '*.a.example.com');
});

test('Kubernetes service hostnames split into name and namespace', () => {
  assert.deepEqual(kubernetesParts('reviews.default.svc.cluster.local'), {
    name: 'reviews',
    namespace: 'default',
  });
  assert.equal(kubernetesParts('api.example.com'), undefined);
  assert.equal(kubernetesParts('a.b.c.svc.cluster.local'), undefined);
  assert.equal(kubernetesParts('default.svc.cluster.local'), undefined);
  assert.equal(kubernetesParts('svc.cluster.local'), undefined);
});
