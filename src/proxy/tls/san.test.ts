import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSubjectAltNames } from './san.js';
import { sanAccepted } from './secret.js';
import { uriSans } from './peer-identity.js';

test("Node's SAN text: types named as Envoy's, quoted entries read whole", () => {
  assert.deepEqual(
    parseSubjectAltNames(
      'DNS:a.example, URI:spiffe://cluster.local/ns/a/sa/b, IP Address:10.0.0.1, email:x@y',
    ),
    [
      { type: 'DNS', value: 'a.example' },
      { type: 'URI', value: 'spiffe://cluster.local/ns/a/sa/b' },
      { type: 'IP', value: '10.0.0.1' },
      { type: 'EMAIL', value: 'x@y' },
    ],
  );
  assert.deepEqual(parseSubjectAltNames(undefined), []);
});

test('a SAN with a comma inside cannot pass for two (exact match on a crafted URI)', () => {
  // A certificate whose one URI SAN is `spiffe://evil, URI:spiffe://cluster.local/ns/a/sa/b`:
  // Node quotes it; split on commas, it would look like the trusted identity.
  const crafted = 'URI:"spiffe://evil, URI:spiffe://cluster.local/ns/a/sa/b"';
  const exact = {
    type: 'URI' as const,
    text: 'exact',
    matches: (v: string) => v === 'spiffe://cluster.local/ns/a/sa/b',
  };
  assert.equal(sanAccepted([exact], crafted), false);
  assert.deepEqual(uriSans(crafted), ['spiffe://evil, URI:spiffe://cluster.local/ns/a/sa/b']);
  assert.equal(sanAccepted([exact], 'URI:spiffe://cluster.local/ns/a/sa/b'), true);
});
