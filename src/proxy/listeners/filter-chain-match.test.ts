import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../config-error.js';
import type { ConnectionInfo } from './connection.js';
import type { ChainMatch } from './filter-chain-match.js';
import {
  compileFilterChainMatch,
  matchKey,
  needsInspection,
  selectChain,
} from './filter-chain-match.js';

type Obj = Record<string, unknown>;

function chains(...matches: (Obj | undefined)[]): { name: string; match: ChainMatch }[] {
  return matches.map((m, i) => ({ name: `c${i}`, match: compileFilterChainMatch(m) }));
}

function conn(extra: Partial<ConnectionInfo> = {}): ConnectionInfo {
  return {
    listenerName: 'l',
    localPort: 443,
    localAddress: '127.0.0.1',
    remoteAddress: '127.0.0.1',
    remotePort: 50000,
    transportProtocol: 'tls',
    serverName: '',
    applicationProtocols: [],
    tunnelAuthority: undefined,
    startTime: 0,
    ...extra,
  };
}

const pick = (cs: { name: string; match: ChainMatch }[], c: Partial<ConnectionInfo>) =>
  selectChain(cs, conn(c))?.name;

test('server names: exact, then the longest wildcard, then chains without names', () => {
  const cs = chains(
    { server_names: ['*.example.com'] },
    { server_names: ['www.example.com', 'api.example.com'] },
    { server_names: ['*.b.example.com'] },
    {},
  );
  assert.equal(pick(cs, { serverName: 'www.example.com' }), 'c1');
  assert.equal(pick(cs, { serverName: 'other.example.com' }), 'c0');
  assert.equal(pick(cs, { serverName: 'x.b.example.com' }), 'c2');
  assert.equal(pick(cs, { serverName: 'x.y.b.example.com' }), 'c2', 'a wildcard covers any depth');
  assert.equal(pick(cs, { serverName: 'example.com' }), 'c3', '*.example.com needs a label before');
  assert.equal(pick(cs, { serverName: '' }), 'c3');
  // Without a catch-all chain, no match at all.
  assert.equal(pick(cs.slice(0, 3), { serverName: 'example.org' }), undefined);
});

test('destination port first, with no backtracking to port-less chains', () => {
  const cs = chains(
    { destination_port: 8443, server_names: ['a.test'] },
    { destination_port: 9443 },
    { server_names: ['b.test'] },
    {},
  );
  assert.equal(pick(cs, { localPort: 8443, serverName: 'a.test' }), 'c0');
  // Port 8443 narrows to its chain; its server name does not match: nothing (as Envoy).
  assert.equal(pick(cs, { localPort: 8443, serverName: 'b.test' }), undefined);
  assert.equal(pick(cs, { localPort: 9443, serverName: 'b.test' }), 'c1');
  assert.equal(pick(cs, { localPort: 1, serverName: 'b.test' }), 'c2');
  assert.equal(pick(cs, { localPort: 1, serverName: 'c.test' }), 'c3');
});

test('transport protocol, application protocols, destination prefixes', () => {
  const cs = chains(
    { transport_protocol: 'tls', application_protocols: ['h2'] },
    { transport_protocol: 'tls' },
    { transport_protocol: 'raw_buffer' },
  );
  assert.equal(pick(cs, { applicationProtocols: ['h2', 'http/1.1'] }), 'c0');
  assert.equal(pick(cs, { applicationProtocols: ['http/1.1'] }), 'c1');
  assert.equal(pick(cs, { transportProtocol: 'raw_buffer' }), 'c2');
  const ips = chains(
    { prefix_ranges: [{ address_prefix: '127.0.0.0', prefix_len: 8 }] },
    { prefix_ranges: [{ address_prefix: '127.0.0.1', prefix_len: 32 }] },
    { prefix_ranges: [{ address_prefix: '::1' }] },
    {},
  );
  assert.equal(pick(ips, { localAddress: '127.0.0.1' }), 'c1', 'the longest prefix wins');
  assert.equal(pick(ips, { localAddress: '127.0.0.2' }), 'c0');
  assert.equal(pick(ips, { localAddress: '::1' }), 'c2');
  assert.equal(pick(ips, { localAddress: '::ffff:127.0.0.9' }), 'c0', 'IPv4-mapped IPv6');
  assert.equal(pick(ips, { localAddress: '10.0.0.1' }), 'c3');
});

test('compile: keys equal for equal matches, inspection needs, refused fields', () => {
  assert.equal(
    matchKey(compileFilterChainMatch({ server_names: ['b', 'a'] })),
    matchKey(compileFilterChainMatch({ server_names: ['a', 'b'] })),
  );
  assert.notEqual(
    matchKey(compileFilterChainMatch({ destination_port: 1 })),
    matchKey(compileFilterChainMatch({})),
  );
  assert.equal(needsInspection([compileFilterChainMatch({ destination_port: 1 })]), false);
  assert.equal(needsInspection([compileFilterChainMatch({ transport_protocol: 'tls' })]), true);
  const fails = (m: Obj, field: string) =>
    assert.throws(
      () => compileFilterChainMatch(m),
      (e: unknown) => e instanceof ConfigError && e.field.startsWith(field),
    );
  fails(
    { source_prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }] },
    'source_prefix_ranges',
  );
  fails({ destination_port: 0 }, 'destination_port');
  fails({ server_names: ['a.*.com'] }, 'server_names[0]');
  fails({ prefix_ranges: [{ address_prefix: 'nope' }] }, 'prefix_ranges[0]');
  // Unset-equivalent values are fine.
  compileFilterChainMatch({ source_type: 'ANY', source_ports: [] });
});
