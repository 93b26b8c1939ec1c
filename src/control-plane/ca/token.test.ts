// Bootstrap tokens: bound to a namespace and service account, refused when expired, forged
// (another key) or tampered with.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadOrCreateTokenKey, mintToken, TOKEN_KEY_FILE, verifyToken } from './token.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'skiff-token-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const ID = { namespace: 'default', serviceAccount: 'reviews' };

test('the key is made once, 0600, and the same key comes back', () => {
  const key = loadOrCreateTokenKey(tmp);
  assert.equal(statSync(path.join(tmp, TOKEN_KEY_FILE)).mode & 0o777, 0o600);
  assert.deepEqual(loadOrCreateTokenKey(tmp), key);
});

test('a token proves its namespace and service account', async () => {
  const key = loadOrCreateTokenKey(tmp);
  assert.deepEqual(await verifyToken(key, mintToken(key, ID)), ID);
});

test('an expired token is refused', async () => {
  const key = loadOrCreateTokenKey(tmp);
  const old = mintToken(key, ID, 1000, Date.now() - 120_000);
  await assert.rejects(verifyToken(key, old), /expired/);
});

test('a token signed with another key, or tampered with, is refused', async () => {
  const key = loadOrCreateTokenKey(tmp);
  const other = loadOrCreateTokenKey(path.join(tmp, 'other'));
  await assert.rejects(verifyToken(key, mintToken(other, ID)), /invalid/);
  const [h, , s] = mintToken(key, ID).split('.');
  const body = Buffer.from(
    JSON.stringify({ ...ID, serviceAccount: 'admin', aud: 'istio-ca', iss: 'skiff' }),
  ).toString('base64url');
  await assert.rejects(verifyToken(key, `${h}.${body}.${s}`), /invalid/);
});
