import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProxyStatus, TypeStatus } from './ads-server.js';
import { settled } from './ads-server.js';

function proxy(...types: TypeStatus[]): ProxyStatus {
  return {
    id: 'p',
    node: { id: 'p' } as ProxyStatus['node'],
    connectedAt: '',
    streamId: 1,
    types: Object.fromEntries(types.map((t, i) => [`type-${i}`, t])),
  };
}

const at = (sent: string, acked: string, nacked?: string): TypeStatus => ({
  sentVersion: sent,
  sentNonce: '1',
  ackedVersion: acked,
  ...(nacked ? { nack: { version: nacked, nonce: '1', message: 'bad', at: '' } } : {}),
});

test('settled: every type ACKed or NACKed at the version sent; an answer pending is not', () => {
  assert.equal(settled(proxy()), true);
  assert.equal(settled(proxy(at('2', '2'), at('5', '5'))), true);
  assert.equal(settled(proxy(at('2', '2'), at('5', '4'))), false, 'a push not yet answered');
  assert.equal(settled(proxy(at('3', '2', '3'))), true, 'NACKed: it keeps its last good');
  assert.equal(settled(proxy(at('4', '2', '3'))), false, 'a newer push after a NACK');
});
