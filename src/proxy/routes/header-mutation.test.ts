import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import { ConfigError } from '../config-error.js';
import { FlatHeaderMap, ObjectHeaderMap } from '../filters/http/header-map.js';
import { HttpStream } from '../http/stream.js';
import { compileHeaderValue } from './header-formatter.js';
import type { HeaderMutation } from './header-mutation.js';
import { applyHeaderMutation, requestMutation, responseMutation } from './header-mutation.js';

function stream(headers: Record<string, string> = {}): HttpStream {
  const req = {
    headers,
    rawHeaders: Object.entries(headers).flat(),
    httpVersion: '1.1',
    socket: {
      remoteAddress: '10.1.2.3',
      remotePort: 5555,
      localAddress: '127.0.0.1',
      localPort: 15001,
    },
  } as unknown as IncomingMessage;
  const view = {
    method: 'GET',
    scheme: 'http',
    authority: 'svc:80',
    path: '/p',
    query: 'a=1',
    headers,
  };
  return new HttpStream(req, {} as ServerResponse, view, [], 'l');
}

const opt = (key: string, value: string, extra: Record<string, unknown> = {}) => ({
  header: { key, value },
  ...extra,
});

test('each append_action; removals first; names lower-cased; empty values skipped', () => {
  const m = requestMutation({
    request_headers_to_add: [
      opt('X-Append', 'b'),
      opt('x-set', 'new', { append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }),
      opt('x-absent', 'kept', { append_action: 'ADD_IF_ABSENT' }),
      opt('x-present', 'ignored', { append_action: 'ADD_IF_ABSENT' }),
      opt('x-only-if', 'changed', { append_action: 'OVERWRITE_IF_EXISTS' }),
      opt('x-missing', 'never', { append_action: 'OVERWRITE_IF_EXISTS' }),
      opt('x-empty', ''),
      opt('x-kept-empty', '', { keep_empty_value: true }),
      opt('x-legacy', 'over', { append: false }),
    ],
    request_headers_to_remove: ['x-gone', 'x-set'],
  }) as HeaderMutation;
  const list = [
    'host',
    'a',
    'X-Append',
    'a',
    'x-set',
    'old',
    'X-Gone',
    '1',
    'x-present',
    'p',
    'x-only-if',
    'o',
    'x-legacy',
    'l',
  ];
  applyHeaderMutation(m, new FlatHeaderMap(list), { stream: stream() });
  assert.deepEqual(list, [
    'host',
    'a',
    'X-Append',
    'a',
    'x-present',
    'p',
    'x-only-if',
    'changed',
    'x-legacy',
    'over',
    'x-append',
    'b',
    'x-set',
    'new',
    'x-absent',
    'kept',
    'x-kept-empty',
    '',
  ]);
});

test('nothing to do compiles to nothing; pseudo-headers and host may not be touched', () => {
  assert.equal(requestMutation({}), undefined);
  assert.equal(responseMutation({ response_headers_to_add: [] }), undefined);
  const fails = (o: Record<string, unknown>, field: RegExp) =>
    assert.throws(
      () => requestMutation(o),
      (e: unknown) => e instanceof ConfigError && field.test(e.field),
    );
  fails(
    { request_headers_to_add: [opt(':path', '/x')] },
    /request_headers_to_add\[0\]\.header\.key/,
  );
  fails({ request_headers_to_add: [opt('Host', 'x')] }, /request_headers_to_add\[0\]/);
  fails({ request_headers_to_remove: [':authority'] }, /request_headers_to_remove\[0\]/);
  assert.throws(
    () => requestMutation({ request_headers_to_add: [opt('x', 'y', { append_action: 'NOPE' })] }),
    /unknown action/,
  );
  // Host is fine on responses; pseudo-headers never are.
  assert.ok(responseMutation({ response_headers_to_add: [opt('host', 'x')] }));
});

test('response mutations work on a local reply header object', () => {
  const m = responseMutation({
    response_headers_to_add: [
      opt('x-a', '1'),
      opt('x-a', '2'),
      opt('server', 'me', { append: false }),
    ],
    response_headers_to_remove: ['x-drop'],
  }) as HeaderMutation;
  const out: Record<string, string | number | string[]> = { server: 'istio-envoy', 'x-drop': 'y' };
  applyHeaderMutation(m, new ObjectHeaderMap(out), { stream: stream() });
  assert.deepEqual(out, { server: 'me', 'x-a': ['1', '2'] });
});

test('values: literals cost nothing; command operators are compiled once', () => {
  assert.equal(compileHeaderValue('plain', 'f'), 'plain');
  assert.equal(compileHeaderValue('100%% sure', 'f'), '100% sure');
  const s = stream({ 'x-user': 'jason', 'user-agent': 'curl' });
  const run = (v: string, extra: Record<string, unknown> = {}) => {
    const f = compileHeaderValue(v, 'f');
    assert.equal(typeof f, 'function', v);
    return (f as (c: unknown) => string)({ stream: s, ...extra });
  };
  assert.equal(run('%DOWNSTREAM_REMOTE_ADDRESS%'), '10.1.2.3:5555');
  assert.equal(run('ip=%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%;'), 'ip=10.1.2.3;');
  assert.equal(run('%DOWNSTREAM_LOCAL_PORT%'), '15001');
  assert.equal(run('%REQ(X-USER)%'), 'jason');
  assert.equal(run('%REQ(x-none?user-agent)%'), 'curl');
  assert.equal(run('%REQ(:PATH)%'), '/p?a=1');
  assert.equal(run('%REQ(x-user):3%'), 'jas');
  assert.equal(run('%PROTOCOL%'), 'HTTP/1.1');
  assert.equal(
    run('%RESP(x-up)%/%RESPONSE_CODE%', {
      status: 201,
      response: new ObjectHeaderMap({ 'x-up': 'v' }),
    }),
    'v/201',
  );
  assert.throws(
    () => compileHeaderValue('%NOT_A_THING%', 'value'),
    /NOT_A_THING% is not supported/,
  );
  assert.throws(() => compileHeaderValue('50% off', 'value'), /starts no operator/);
  assert.throws(() => compileHeaderValue('%REQ()%', 'value'), /needs a header name/);
});
