import assert from 'node:assert/strict';
import { test } from 'node:test';
import { derLength, oid, sequence, smallInteger } from './der.js';

test('DER lengths: short form below 128, long form with the byte count above', () => {
  assert.deepEqual([...derLength(0)], [0x00]);
  assert.deepEqual([...derLength(127)], [0x7f]);
  assert.deepEqual([...derLength(128)], [0x81, 0x80]);
  assert.deepEqual([...derLength(300)], [0x82, 0x01, 0x2c]);
  assert.deepEqual([...sequence(Buffer.alloc(200))].slice(0, 3), [0x30, 0x81, 0xc8]);
});

test('object identifiers: 40·a + b, then base-128 arcs; bad input refused', () => {
  // rsadsi, and ecdsa-with-SHA256 as every certificate spells them.
  assert.equal(oid('1.2.840.113549').toString('hex'), '06062a864886f70d');
  assert.equal(oid('1.2.840.10045.4.3.2').toString('hex'), '06082a8648ce3d040302');
  assert.equal(oid('2.5.29.17').toString('hex'), '0603551d11');
  assert.throws(() => oid('1'), /not an object identifier/);
  assert.throws(() => oid('1.x.3'), /not an object identifier/);
  assert.throws(() => smallInteger(200), /not a small integer/);
});
