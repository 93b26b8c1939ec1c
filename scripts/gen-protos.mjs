// Build step: parses the Envoy protos skiff uses (shipped in @grpc/grpc-js-xds's deps/) once,
// and writes their descriptor as JSON for protobufjs's Root.fromJSON: every proxy then starts
// in a third of the time and with less memory than parsing .proto files would take.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(import.meta.url);
const xdsDir = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
const protobufjsDir = path.dirname(require.resolve('protobufjs/package.json'));

/** Folders searched for imports, in order (skiff's own protos, e.g. Istio's CA API, last). */
const INCLUDE_DIRS = [
  path.join(xdsDir, 'deps/envoy-api'),
  path.join(xdsDir, 'deps/xds'),
  path.join(xdsDir, 'deps/googleapis'),
  path.join(xdsDir, 'deps/protoc-gen-validate'),
  protobufjsDir,
  path.join(root, 'proto'),
];

/** Every proto file skiff reads or writes; their imports follow. */
const ENTRY_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/route/v3/scoped_route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'xds/type/v3/typed_struct.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/access_loggers/filters/cel/v3/cel.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/filters/http/grpc_web/v3/grpc_web.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/jwt_authn/v3/config.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/filters/network/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/retry/priority/previous_priorities/v3/previous_priorities_config.proto',
  'envoy/config/trace/v3/zipkin.proto',
  'envoy/config/trace/v3/opentelemetry.proto',
];

const protoRoot = new protobuf.Root();
protoRoot.resolvePath = (origin, target) => {
  if (path.isAbsolute(target) && existsSync(target)) return target;
  for (const dir of INCLUDE_DIRS) {
    const candidate = path.join(dir, target);
    if (existsSync(candidate)) return candidate;
  }
  return origin ? path.join(path.dirname(origin), target) : target;
};
protoRoot.loadSync(ENTRY_FILES, { keepCase: true });
protoRoot.resolveAll();

const out = path.join(root, 'src/xds/generated/envoy-protos.json');
mkdirSync(path.dirname(out), { recursive: true });
const json = JSON.stringify(protoRoot.toJSON({ keepComments: false }));
writeFileSync(out, json);
console.log(
  `gen-protos: ${ENTRY_FILES.length} entry files -> ${path.relative(root, out)} (${Math.round(json.length / 1024)} KiB)`,
);
