// Loads Envoy's xDS v3 protos (shipped in @grpc/grpc-js-xds's deps/) into one protobufjs Root,
// shared by the control plane (which encodes) and the proxy (which decodes).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { registerJsonWrappers } from './json-wrappers.js';

const require = createRequire(import.meta.url);
const xdsPackageDir = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
const protobufjsDir = path.dirname(require.resolve('protobufjs/package.json'));
const projectProtoDir = path.resolve(
  path.dirname(new URL(import.meta.url).pathname),
  '../../proto',
);

/** Folders searched for imports, in order. */
export const PROTO_INCLUDE_DIRS: readonly string[] = [
  path.join(xdsPackageDir, 'deps/envoy-api'),
  path.join(xdsPackageDir, 'deps/xds'),
  path.join(xdsPackageDir, 'deps/googleapis'),
  path.join(xdsPackageDir, 'deps/protoc-gen-validate'),
  protobufjsDir,
  projectProtoDir,
];

/** Every proto file skiff reads or writes; imports follow. */
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
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/jwt_authn/v3/config.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/admin/v3/config_dump.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
];

function resolveImport(origin: string, target: string): string {
  if (path.isAbsolute(target) && existsSync(target)) return target;
  for (const dir of PROTO_INCLUDE_DIRS) {
    const candidate = path.join(dir, target);
    if (existsSync(candidate)) return candidate;
  }
  // protobufjs reports the missing file itself; hand back the name unchanged.
  return origin ? path.join(path.dirname(origin), target) : target;
}

function loadRoot(): protobuf.Root {
  registerJsonWrappers();
  const root = new protobuf.Root();
  root.resolvePath = resolveImport;
  root.loadSync(ENTRY_FILES, { keepCase: true });
  root.resolveAll();
  return root;
}

/** The loaded and resolved proto root; built once per process. */
export const protoRoot: protobuf.Root = loadRoot();

export function lookupMessage(fullName: string): protobuf.Type {
  return protoRoot.lookupType(fullName);
}
