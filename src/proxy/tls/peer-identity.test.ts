// The SAN text Node gives (`URI:a, DNS:b`, quoted entries) read as Envoy reads URI SANs, and
// the XFCC modes' handling of a connection without a verified client certificate.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { principalOfSan, uriSans } from './peer-identity.js';
import { compileXfcc, xfccHeader } from './xfcc.js';

test('URI SANs: in order, quoted ones unquoted; the principal drops spiffe://', () => {
  const san = 'DNS:a.example.com, URI:spiffe://cluster.local/ns/x/sa/y, URI:"urn:a,b"';
  assert.deepEqual(uriSans(san), ['spiffe://cluster.local/ns/x/sa/y', 'urn:a,b']);
  assert.equal(principalOfSan(san), 'cluster.local/ns/x/sa/y');
  assert.equal(principalOfSan('DNS:only.example.com'), undefined);
  assert.equal(principalOfSan(undefined), undefined);
});

test('XFCC: a plaintext connection never forwards one, except ALWAYS_FORWARD_ONLY', () => {
  const plain = new net.Socket();
  const forged = 'URI=spiffe://cluster.local/ns/default/sa/admin';
  for (const mode of ['SANITIZE', 'FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET'])
    assert.equal(
      xfccHeader(compileXfcc({ forward_client_cert_details: mode }), plain, forged),
      undefined,
      mode,
    );
  assert.equal(
    xfccHeader(compileXfcc({ forward_client_cert_details: 'ALWAYS_FORWARD_ONLY' }), plain, forged),
    forged,
  );
  // Envoy's default is SANITIZE.
  assert.equal(compileXfcc({}).mode, 'SANITIZE');
  const c = compileXfcc({
    forward_client_cert_details: 'APPEND_FORWARD',
    set_current_client_cert_details: { uri: true, subject: { value: true } },
  });
  assert.deepEqual([c.uri, c.subject, c.dns], [true, true, false]);
  plain.destroy();
});
