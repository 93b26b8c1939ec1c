// /proc parsing, on fixed lines (a comm with spaces and parentheses) and on this process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuTicks, parseComm, parseCpuTicks, parseRssBytes, rssBytes } from './procfs.js';

// proc(5): pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
const STAT = '4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 70 0 0 20 0 11 0 1 2 3';

test('utime + stime come after the command name, whatever it holds', () => {
  assert.equal(parseCpuTicks(STAT), 320);
  assert.equal(parseComm(STAT), 'my (odd) name');
});

test('VmRSS in kB becomes bytes; absent is 0', () => {
  assert.equal(parseRssBytes('Name:\tnode\nVmHWM:\t  900 kB\nVmRSS:\t   51200 kB\n'), 51200 * 1024);
  assert.equal(parseRssBytes('Name:\tzombie\nState:\tZ (zombie)\n'), 0);
});

test(
  'this process has memory and, after some work, CPU time; a gone pid counts 0',
  { skip: process.platform !== 'linux' },
  () => {
    const before = cpuTicks([process.pid]);
    // Spin until the kernel has charged us a tick (10 ms at 100 Hz), with a generous deadline.
    const deadline = Date.now() + 30_000;
    while (cpuTicks([process.pid]) === before && Date.now() < deadline) {
      for (let i = 0; i < 1e5; i++) Math.sqrt(i);
    }
    assert.ok(cpuTicks([process.pid]) > before);
    assert.ok(rssBytes([process.pid]) > 10 * 1024 * 1024);
    assert.equal(rssBytes([0x7ffffff0]), 0);
    assert.equal(cpuTicks([0x7ffffff0]), 0);
  },
);
