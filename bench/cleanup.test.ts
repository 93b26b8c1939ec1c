// Undo order and failure isolation of the run's cleanup.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cleanup } from './cleanup.js';

test('undos run newest first, once, and one that throws does not stop the rest', async () => {
  const c = new Cleanup();
  const ran: string[] = [];
  c.add('a', () => void ran.push('a'));
  c.add('b', () => {
    ran.push('b');
    throw new Error('b failed');
  });
  const early = c.add('c', async () => void ran.push('c'));
  c.add('d', () => void ran.push('d'));
  c.add('e', () => void ran.push('e')).drop(); // never runs
  await early.now(); // run now, and not again at the end
  await early.now();
  const stderr = process.stderr.write;
  process.stderr.write = () => true;
  try {
    await c.run();
  } finally {
    process.stderr.write = stderr;
  }
  await c.run();
  assert.deepEqual(ran, ['c', 'd', 'b', 'a']);
});
