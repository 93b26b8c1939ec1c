import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Snapshot } from '../../control-plane/server/snapshot.js';
import { generateResources } from '../../control-plane/generate/index.js';
import { modelOf, workloadNode } from '../../control-plane/generate/testing.js';
import { rulesYaml } from '../../../bench/targets/rules.js';
import { packAny } from '../any.js';
import { lookupMessage } from '../protos.js';
import { TypeUrl } from '../types.js';
import { decodeMessage, unpackAny } from './decode.js';
import { encodeMessage } from './encode.js';
import { ProtoShapeError } from './json-form.js';
import { WireError, WireType } from './reader.js';
import { requireMessage } from './schema.js';
import { decodeWithProtobufjs, unpackAnyWithProtobufjs } from './testing.js';
import { Writer } from './writer.js';

/** Both decoders on the same bytes: the wire decoder must give exactly protobufjs's object. */
function same(fullName: string, bytes: Uint8Array): Record<string, unknown> {
  const ours = decodeMessage(requireMessage(fullName), bytes);
  assert.deepStrictEqual(ours, decodeWithProtobufjs(fullName, bytes));
  return ours;
}

function protobufjsEncode(fullName: string, object: Record<string, unknown>): Uint8Array {
  const type = lookupMessage(fullName);
  return type.encode(type.fromObject(object)).finish();
}

const LEN = WireType.LengthDelimited;

describe('wire decoding agrees with protobufjs', () => {
  test('every resource generated for a rich mesh (rules, security, telemetry)', () => {
    const yaml = `${rulesYaml()}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: default }
spec: { mtls: { mode: STRICT } }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: echo, namespace: default }
spec:
  rules:
  - from: [{ source: { principals: ["cluster.local/ns/default/sa/sa"] } }]
    to: [{ operation: { methods: ["GET"], paths: ["/api/*"] } }]
    when: [{ key: "request.headers[x-tenant]", values: ["a", "b"] }]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: mesh-default, namespace: default }
spec:
  accessLogging: [{ providers: [{ name: envoy }] }]
`;
    const model = modelOf(yaml);
    for (const node of [
      workloadNode('default', { app: 'client' }),
      workloadNode('default', { app: 'echo' }),
    ]) {
      const snapshot = Snapshot.build(generateResources(node, model, { gatewayPorts: {} }));
      let count = 0;
      for (const type of snapshot.types()) {
        for (const [name, any] of snapshot.resources(type)) {
          assert.deepStrictEqual(unpackAny(any), unpackAnyWithProtobufjs(any), `${type} ${name}`);
          count++;
        }
      }
      assert.ok(count > 40, `many resources compared (${count})`);
      assert.ok(snapshot.resources(TypeUrl.Listener).size > 0);
    }
  });

  test('nested Anys: a filter with no fields, and a type this build does not know', () => {
    const hcm = packAny('type.googleapis.com/envoy.config.listener.v3.Listener', {
      name: 'l',
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: {
                '@type':
                  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                stat_prefix: 'p',
                http_filters: [
                  {
                    name: 'envoy.filters.http.router',
                    typed_config: {
                      '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
                    },
                  },
                ],
              },
            },
          ],
        },
      ],
    });
    const decoded = unpackAny(hcm);
    assert.deepStrictEqual(decoded, unpackAnyWithProtobufjs(hcm));
    // An unknown type inside an Any stays packed: its URL and its bytes in base64.
    const w = new Writer();
    w.tag(1, LEN).string('l');
    w.message(3, (fc) =>
      fc.message(3, (f) => {
        f.tag(1, LEN).string('x');
        f.message(4, (a) => {
          a.tag(1, LEN).string('type.googleapis.com/example.Unknown');
          a.tag(2, LEN).bytes(Buffer.from([8, 1]));
        });
      }),
    );
    const l = same('envoy.config.listener.v3.Listener', w.finish());
    assert.deepEqual(l['filter_chains'], [
      {
        filters: [
          {
            name: 'x',
            typed_config: { type_url: 'type.googleapis.com/example.Unknown', value: 'CAE=' },
          },
        ],
      },
    ]);
  });

  test('every scalar type, packed and unpacked, negative and beyond 32 bits', () => {
    same(
      'validate.Int64Rules',
      protobufjsEncode('validate.Int64Rules', { const: -5, lt: 2 ** 40, in: [1, -2, 2 ** 35] }),
    );
    same(
      'validate.UInt64Rules',
      protobufjsEncode('validate.UInt64Rules', { gt: 2 ** 52, in: [0, 7] }),
    );
    same(
      'validate.SInt32Rules',
      protobufjsEncode('validate.SInt32Rules', { const: -3, in: [-1, 1] }),
    );
    same(
      'validate.SInt64Rules',
      protobufjsEncode('validate.SInt64Rules', { lt: -(2 ** 40), in: [-7] }),
    );
    same('validate.Fixed32Rules', protobufjsEncode('validate.Fixed32Rules', { const: 4000000000 }));
    same('validate.SFixed32Rules', protobufjsEncode('validate.SFixed32Rules', { lt: -9, in: [3] }));
    same(
      'validate.Fixed64Rules',
      protobufjsEncode('validate.Fixed64Rules', { gt: 2 ** 50, in: [2] }),
    );
    same('validate.SFixed64Rules', protobufjsEncode('validate.SFixed64Rules', { gte: -(2 ** 45) }));
    same('validate.Int32Rules', protobufjsEncode('validate.Int32Rules', { const: -2147483648 }));
    same(
      'validate.FloatRules',
      protobufjsEncode('validate.FloatRules', { lt: 1.5, in: [0.25, -2] }),
    );
    same(
      'validate.DoubleRules',
      protobufjsEncode('validate.DoubleRules', { gt: NaN, in: [Infinity, -0.5] }),
    );
    same(
      'validate.BytesRules',
      protobufjsEncode('validate.BytesRules', { const: 'AQID', in: ['BA=='] }),
    );
    // Packed where protobufjs writes unpacked, and the reverse (proto2 repeated fields).
    const w = new Writer();
    w.message(6, (p) => p.int32(-1).int32(5).int32(300));
    w.tag(6, WireType.Varint).int32(9);
    const r = same('validate.Int32Rules', w.finish());
    assert.deepEqual(r['in'], [-1, 5, 300, 9]);
  });

  test('enums by name, an unknown number as a number, packed enum lists', () => {
    const w = new Writer();
    w.message(1, (p) => p.int32(1).int32(2).int32(77));
    const r = same('envoy.config.core.v3.HealthStatusSet', w.finish());
    assert.deepEqual(r['statuses'], ['HEALTHY', 'UNHEALTHY', 77]);
  });

  test('well-known types: Duration, wrappers (absent value = default), Struct, maps of Struct', () => {
    const bytes = protobufjsEncode('envoy.config.cluster.v3.Cluster', {
      name: 'c',
      connect_timeout: { seconds: 2, nanos: 500000000 },
      per_connection_buffer_limit_bytes: { value: 0 },
      metadata: {
        filter_metadata: {
          istio: {
            fields: {
              s: { stringValue: 'x' },
              n: { numberValue: 1.5 },
              b: { boolValue: false },
              z: { nullValue: 'NULL_VALUE' },
              l: { listValue: { values: [{ numberValue: 1 }, { structValue: { fields: {} } }] } },
            },
          },
        },
      },
    });
    const c = same('envoy.config.cluster.v3.Cluster', bytes);
    assert.equal(c['connect_timeout'], '2.5s');
    assert.equal(c['per_connection_buffer_limit_bytes'], 0);
    assert.deepEqual(c['metadata'], {
      filter_metadata: { istio: { s: 'x', n: 1.5, b: false, z: null, l: [1, {}] } },
    });
    // An empty wrapper message is its default; a negative duration keeps its sign.
    const w = new Writer();
    w.tag(1, LEN).string('c');
    w.message(33, () => {});
    w.message(4, (d) => d.tag(1, WireType.Varint).int64(-1).tag(2, WireType.Varint).int32(-5000));
    const c2 = same('envoy.config.cluster.v3.Cluster', w.finish());
    assert.equal(c2['connect_timeout'], '-1.000005s');
  });

  test('unknown fields of every wire type are skipped', () => {
    const w = new Writer();
    w.tag(900, WireType.Varint).int64(-1);
    w.tag(901, WireType.Fixed64).double(1);
    w.tag(902, LEN).string('skip me');
    w.tag(903, WireType.Fixed32).fixed32(1);
    w.tag(904, WireType.StartGroup).tag(1, WireType.Varint).uint32(5).tag(904, WireType.EndGroup);
    w.tag(1, LEN).string('kept');
    assert.deepEqual(same('envoy.config.core.v3.ControlPlane', w.finish()), { identifier: 'kept' });
  });

  test('truncated or malformed bytes are a WireError, not a crash or a wrong object', () => {
    const schema = requireMessage('envoy.config.core.v3.ControlPlane');
    assert.throws(() => decodeMessage(schema, Buffer.from([0x0a, 0x05, 0x61])), WireError);
    assert.throws(() => decodeMessage(schema, Buffer.from([0x08, 0xff])), WireError);
    assert.throws(() => decodeMessage(schema, Buffer.from([0x0f])), WireError); // wire type 7
    // A string field sent as a varint.
    assert.throws(
      () => decodeMessage(schema, Buffer.from([0x08, 0x01])),
      /wire type 0, expected 2/,
    );
  });
});

describe('wire decoding of hostile bytes', () => {
  test('a sub-message cannot claim bytes beyond itself (an Any whose value runs past it)', () => {
    const w = new Writer();
    w.tag(1, LEN).string('l');
    w.message(3, (fc) =>
      fc.message(3, (f) =>
        f.message(4, (a) => {
          a.tag(1, LEN).string('type.googleapis.com/envoy.config.core.v3.ControlPlane');
          a.tag(2, LEN).uint32(40); // claims 40 bytes; the Any ends here
        }),
      ),
    );
    w.tag(1, LEN).string('a sibling that must not be read as the Any value');
    assert.throws(
      () => decodeMessage(requireMessage('envoy.config.listener.v3.Listener'), w.finish()),
      WireError,
    );
  });

  test('nesting deeper than 100 levels, of messages or of groups, is refused', () => {
    // Value { list_value: ListValue { values: [Value { list_value: ... }] } }, 150 times.
    let inner = Buffer.alloc(0);
    for (let i = 0; i < 150; i++) {
      const list = Buffer.concat([Buffer.from([0x0a]), lengthOf(inner), inner]);
      inner = Buffer.concat([Buffer.from([0x32]), lengthOf(list), list]);
    }
    const struct = requireMessage('google.protobuf.Struct');
    const deep = new Writer().message(1, (e) => {
      e.tag(1, LEN).string('k');
      e.tag(2, LEN).bytes(inner);
    });
    assert.throws(() => decodeMessage(struct, deep.finish()), /nested deeper than 100/);
    const groups = Buffer.concat([
      Buffer.alloc(200, 0x13 /* field 2, start group */),
      Buffer.from([0x0a, 0x00]),
    ]);
    assert.throws(
      () => decodeMessage(requireMessage('envoy.config.core.v3.ControlPlane'), groups),
      /nested deeper than 100/,
    );
  });

  test('a key named __proto__ stays an ordinary key', () => {
    const bytes = encodeMessage(requireMessage('envoy.config.core.v3.Metadata'), {
      filter_metadata: { ['__proto__']: { polluted: true } },
    });
    const m = decodeMessage(requireMessage('envoy.config.core.v3.Metadata'), bytes);
    const fm = m['filter_metadata'] as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(fm), Object.prototype);
    assert.deepEqual(Object.keys(fm), ['__proto__']);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  test("a map entry without its value gets the value type's default", () => {
    const w = new Writer();
    w.message(1, (e) => e.tag(1, LEN).string('istio')); // filter_metadata { key: "istio" }
    // (protobufjs throws a TypeError on this one.)
    assert.deepStrictEqual(
      decodeMessage(requireMessage('envoy.config.core.v3.Metadata'), w.finish()),
      {
        filter_metadata: { istio: {} },
      },
    );
  });
});

function lengthOf(b: Buffer): Buffer {
  return new Writer().uint32(b.length).finish();
}

describe('wire encoding from the JSON form', () => {
  test('a Node with Struct metadata and a locality, as protobufjs reads it back', () => {
    const node = {
      id: 'sidecar~127.0.0.1~a-0.default~default.svc.cluster.local',
      cluster: 'a.default',
      metadata: {
        NAMESPACE: 'default',
        LABELS: { app: 'a' },
        PORTS: [1, 2],
        ON: true,
        NOTHING: null,
      },
      locality: { region: 'r', zone: 'z' },
      user_agent_name: 'skiff',
      client_features: ['envoy.lb.does_not_support_overprovisioning'],
    };
    const bytes = encodeMessage(requireMessage('envoy.config.core.v3.Node'), node);
    assert.deepStrictEqual(decodeWithProtobufjs('envoy.config.core.v3.Node', bytes), node);
    assert.deepStrictEqual(same('envoy.config.core.v3.Node', bytes), node);
  });

  test('Anys, enums by name, durations, wrappers and packed lists round-trip', () => {
    const route = {
      name: 'r',
      virtual_hosts: [
        {
          name: 'v',
          domains: ['*'],
          routes: [
            {
              match: { prefix: '/' },
              route: {
                cluster: 'c',
                timeout: '1.5s',
                retry_policy: { num_retries: 2, retriable_status_codes: [503, 504] },
              },
              typed_per_filter_config: {
                'envoy.filters.http.fault': {
                  '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
                  abort: {
                    http_status: 503,
                    percentage: { numerator: 10, denominator: 'HUNDRED' },
                  },
                },
              },
            },
          ],
        },
      ],
    };
    const bytes = encodeMessage(requireMessage('envoy.config.route.v3.RouteConfiguration'), route);
    assert.deepStrictEqual(same('envoy.config.route.v3.RouteConfiguration', bytes), route);
  });

  test('scalars are written byte for byte as protobufjs writes them', () => {
    const cases: [string, Record<string, unknown>][] = [
      ['validate.Int64Rules', { const: -5, lt: 2 ** 40, gt: -(2 ** 33) }],
      ['validate.UInt64Rules', { const: 2 ** 52 + 1 }],
      ['validate.Int32Rules', { const: -2147483648, lt: 2147483647 }],
      ['validate.SInt32Rules', { const: -3, lt: 2 ** 30 }],
      ['validate.SInt64Rules', { const: -(2 ** 40), lt: 2 ** 41 }],
      ['validate.Fixed64Rules', { const: 2 ** 50 + 3 }],
      ['validate.SFixed64Rules', { const: -(2 ** 45) }],
      ['validate.SFixed32Rules', { const: -9 }],
      ['validate.DoubleRules', { const: -0.5 }],
      ['validate.FloatRules', { const: 1.25 }],
      ['validate.StringRules', { const: 'héllo ✓' }],
    ];
    for (const [name, object] of cases) {
      assert.deepEqual(
        encodeMessage(requireMessage(name), object),
        Buffer.from(protobufjsEncode(name, object)),
        name,
      );
    }
  });

  test('an Any: packed bytes in base64, and a type URL without a slash, as protobufjs writes them', () => {
    const any = requireMessage('google.protobuf.Any');
    const packed = { type_url: 'type.googleapis.com/example.Unknown', value: 'CAE=' };
    assert.deepStrictEqual(decodeMessage(any, encodeMessage(any, packed)), packed);
    const bare = encodeMessage(any, {
      '@type': 'envoy.config.core.v3.ControlPlane',
      identifier: 'x',
    });
    const type = lookupMessage('google.protobuf.Any');
    const theirs = type.encode(
      type.fromObject({ '@type': 'envoy.config.core.v3.ControlPlane', identifier: 'x' }),
    );
    assert.deepEqual(bare, Buffer.from(theirs.finish()));
  });

  test('a key the message does not have is refused with its path', () => {
    assert.throws(
      () => encodeMessage(requireMessage('envoy.config.core.v3.Node'), { locality: { zoen: 'z' } }),
      (err: unknown) =>
        err instanceof ProtoShapeError &&
        err.message === 'envoy.config.core.v3.Locality: locality.zoen: no such field',
    );
  });
});
