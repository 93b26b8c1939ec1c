import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../config-error.js';
import type { ConnectionInfo } from './connection.js';
import type { ChainMatch } from './filter-chain-match.js';
import {
  compileFilterChainMatch,
  destinationIp,
  inspectionMatters,
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

test('prefix ranges not on a byte boundary, IPv4 and IPv6: the longest holding prefix wins', () => {
  const cs = chains(
    { prefix_ranges: [{ address_prefix: '10.16.0.0', prefix_len: 12 }] },
    { prefix_ranges: [{ address_prefix: '10.20.0.0', prefix_len: 14 }] },
    { prefix_ranges: [{ address_prefix: 'fd00:ab00::', prefix_len: 24 }] },
    {
      prefix_ranges: [
        { address_prefix: 'fd00:abcd:0:8::', prefix_len: 61 },
        { address_prefix: '192.168.1.7' },
      ],
    },
    { prefix_ranges: [{ address_prefix: '0.0.0.0', prefix_len: 0 }] },
  );
  assert.equal(pick(cs, { localAddress: '10.31.255.255' }), 'c0', 'last address of /12');
  assert.equal(pick(cs, { localAddress: '10.32.0.0' }), 'c4', 'just past /12: only /0 holds');
  assert.equal(pick(cs, { localAddress: '10.23.1.1' }), 'c1', '/14 beats /12');
  assert.equal(pick(cs, { localAddress: '10.24.0.1' }), 'c0');
  assert.equal(pick(cs, { localAddress: 'fd00:abff::1' }), 'c2');
  assert.equal(pick(cs, { localAddress: 'fd00:abcd:0:f::1' }), 'c3', '/61 holds ::8 to ::f');
  assert.equal(pick(cs, { localAddress: 'fd00:abcd:0:7::1' }), 'c2', 'just below /61');
  assert.equal(pick(cs, { localAddress: '192.168.1.7' }), 'c3', 'a bare address is a /32');
  assert.equal(pick(cs, { localAddress: '192.168.1.8' }), 'c4');
  assert.equal(pick(cs, { localAddress: 'fe80::1' }), undefined, 'no IPv6 range holds it');
});

test('a tunnel: the CONNECT address is the destination IP; a host name has none', () => {
  const tunnel = (authority: string) => conn({ tunnelAuthority: authority, localPort: 9100 });
  assert.equal(destinationIp(tunnel('10.1.2.3:9100')), '10.1.2.3');
  assert.equal(destinationIp(tunnel('[fd00::7]:9100')), 'fd00::7');
  assert.equal(destinationIp(tunnel('[::ffff:10.1.2.3]:9100')), '10.1.2.3');
  assert.equal(destinationIp(tunnel('db.example.com:9100')), undefined);
  assert.equal(destinationIp(conn({ localAddress: '::ffff:127.0.0.5' })), '127.0.0.5');
  const cs = chains(
    { destination_port: 9100, prefix_ranges: [{ address_prefix: '10.1.0.0', prefix_len: 16 }] },
    { destination_port: 9100, prefix_ranges: [{ address_prefix: '0.0.0.0', prefix_len: 0 }] },
    { destination_port: 9443, server_names: ['db.example.com'] },
  );
  const at = (authority: string) => selectChain(cs, tunnel(authority))?.name;
  // The sidecar's own socket address (127.0.0.1) plays no part.
  assert.equal(at('10.1.9.9:9100'), 'c0');
  assert.equal(at('10.2.0.1:9100'), 'c1');
  assert.equal(at('db.example.com:9100'), undefined, 'a name matches no prefix');
  // Inspection only where a chain left by the port and the address needs it.
  assert.equal(inspectionMatters(cs, tunnel('10.1.9.9:9100')), false);
  assert.equal(inspectionMatters(cs, { ...tunnel('x:9443'), localPort: 9443 }), true);
  assert.equal(inspectionMatters(cs, { ...tunnel('x:80'), localPort: 80 }), false);
});
