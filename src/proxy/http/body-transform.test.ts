import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlatHeaderMap } from '../filters/http/header-map.js';
import type { BodyTransform } from './body-transform.js';
import { composeTransforms } from './body-transform.js';

/** A transform that tags what passes through it. */
function tagging(tag: string, log: string[]): BodyTransform {
  return {
    requestHeaders: (h) => {
      log.push(`req:${tag}`);
      h.add('x-seen', tag);
    },
    responseHeaders: () => void log.push(`res:${tag}`),
    responseData: (chunk) => Buffer.concat([chunk, Buffer.from(tag)]),
    responseEnd: (trailers) => ({
      data: Buffer.from(`end-${tag};`),
      ...(trailers ? { trailers: { ...trailers, [tag]: '1' } } : {}),
    }),
  };
}

test('composed transforms: requests in filter order, responses in reverse', () => {
  const log: string[] = [];
  const t = composeTransforms(tagging('a', log), tagging('b', log));
  const h = new FlatHeaderMap([]);
  t.requestHeaders?.(h);
  t.responseHeaders?.(200, h);
  assert.deepEqual(log, ['req:a', 'req:b', 'res:b', 'res:a']);
  assert.deepEqual(h.list, ['x-seen', 'a', 'x-seen', 'b']);
  assert.equal(t.responseData?.(Buffer.from('x')).toString(), 'xba');
  // b's last bytes go through a's data hook, then a's own last bytes follow.
  const end = t.responseEnd?.({ s: '0' });
  assert.equal(end?.data?.toString(), 'end-b;aend-a;');
  assert.deepEqual(end?.trailers, { s: '0', b: '1', a: '1' });
});

test('a composed transform passes through what its parts leave undefined', () => {
  const t = composeTransforms({}, { responseEnd: () => ({}) });
  assert.equal(t.responseData?.(Buffer.from('x')).toString(), 'x');
  assert.deepEqual(t.responseEnd?.(undefined), {});
});
