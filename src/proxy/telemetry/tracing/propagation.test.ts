import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  extractContext,
  injectContext,
  parseB3Multi,
  parseB3Single,
  parseTraceparent,
} from './propagation.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

describe('W3C traceparent', () => {
  test('a valid header gives trace id, parent id and the sampled flag', () => {
    assert.deepEqual(parseTraceparent(`00-${T}-${S}-01`), {
      traceId: T,
      spanId: S,
      sampled: true,
      format: 'w3c',
      traceState: undefined,
    });
    assert.equal(parseTraceparent(`00-${T}-${S}-00`)?.sampled, false);
    // Later versions may append fields after a dash.
    assert.equal(parseTraceparent(`01-${T}-${S}-01-extra`)?.traceId, T);
  });

  test('invalid headers are ignored', () => {
    for (const bad of [
      `00-${T.toUpperCase()}-${S}-01`,
      `00-${'0'.repeat(32)}-${S}-01`,
      `00-${T}-${'0'.repeat(16)}-01`,
      `ff-${T}-${S}-01`,
      `00-${T}-${S}-01-extra`,
      `00-${T}-${S}-1`,
      `00_${T}-${S}-01`,
      'garbage',
    ])
      assert.equal(parseTraceparent(bad), undefined, bad);
  });

  test('tracestate comes along with a valid traceparent', () => {
    const c = extractContext({ traceparent: `00-${T}-${S}-01`, tracestate: 'a=1,b=2' });
    assert.equal(c?.traceState, 'a=1,b=2');
  });
});

describe('B3', () => {
  test('multi headers; a 64-bit trace id is widened; flags 1 means sampled', () => {
    const c = parseB3Multi({
      'x-b3-traceid': 'a3ce929d0e0e4736',
      'x-b3-spanid': S,
      'x-b3-sampled': '0',
      'x-b3-flags': '1',
    });
    assert.equal(c?.traceId, `0000000000000000a3ce929d0e0e4736`);
    assert.equal(c?.sampled, true);
    assert.equal(parseB3Multi({ 'x-b3-sampled': '0' })?.sampled, false);
    assert.equal(parseB3Multi({ 'x-b3-traceid': T, 'x-b3-spanid': S })?.sampled, undefined);
  });

  test('invalid multi headers are ignored', () => {
    assert.equal(parseB3Multi({ 'x-b3-traceid': T }), undefined);
    assert.equal(parseB3Multi({ 'x-b3-traceid': 'xyz', 'x-b3-spanid': S }), undefined);
    assert.equal(parseB3Multi({ 'x-b3-traceid': T, 'x-b3-spanid': '123' }), undefined);
  });

  test('the single header, with and without sampling and parent', () => {
    assert.deepEqual(parseB3Single(`${T}-${S}-1-${S}`), {
      traceId: T,
      spanId: S,
      sampled: true,
      format: 'b3-single',
      traceState: undefined,
    });
    assert.equal(parseB3Single(`${T}-${S}`)?.sampled, undefined);
    assert.equal(parseB3Single(`${T}-${S}-d`)?.sampled, true);
    assert.equal(parseB3Single('0')?.sampled, false);
    for (const bad of [`${T}-${S}-x`, `${T}`, `${T}-${S}-1-zz`, 'q', `${T}-${S}-1-${S}-1`])
      assert.equal(parseB3Single(bad), undefined, bad);
  });

  test('precedence: traceparent, then b3, then x-b3-*; an invalid one falls through', () => {
    const other = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    assert.equal(
      extractContext({ traceparent: `00-${T}-${S}-01`, b3: `${other}-${S}-1` })?.traceId,
      T,
    );
    assert.equal(extractContext({ traceparent: 'bad', b3: `${other}-${S}-1` })?.traceId, other);
    assert.equal(
      extractContext({ b3: 'bad', 'x-b3-traceid': other, 'x-b3-spanid': S })?.format,
      'b3',
    );
    assert.equal(extractContext({}), undefined);
  });
});

describe('injection', () => {
  test('traceparent and x-b3-* always; b3 when it came single', () => {
    const out: [string, string][] = [];
    injectContext(
      { traceId: T, spanId: S, parentId: '1111111111111111', sampled: true },
      true,
      out,
    );
    assert.deepEqual(Object.fromEntries(out), {
      traceparent: `00-${T}-${S}-01`,
      'x-b3-traceid': T,
      'x-b3-spanid': S,
      'x-b3-sampled': '1',
      'x-b3-parentspanid': '1111111111111111',
      b3: `${T}-${S}-1-1111111111111111`,
    });
    const unsampled: [string, string][] = [];
    injectContext({ traceId: T, spanId: S, parentId: undefined, sampled: false }, false, unsampled);
    assert.deepEqual(Object.fromEntries(unsampled), {
      traceparent: `00-${T}-${S}-00`,
      'x-b3-traceid': T,
      'x-b3-spanid': S,
      'x-b3-sampled': '0',
    });
  });
});
