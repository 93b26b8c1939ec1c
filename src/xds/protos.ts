// Envoy's xDS v3 protos as one protobufjs Root: the control plane encodes resources with it
// (src/xds/any.ts). The build parses the .proto files once (scripts/gen-protos.mjs); here the
// descriptor it wrote is loaded, field names kept snake_case as in the protos. Proxies do not
// load it: they decode with src/xds/wire and the wire schema the build wrote beside it.
import { existsSync, readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { ProtoDescriptorMissingError } from './wire/schema.js';

export { ProtoDescriptorMissingError };

// From src/xds (tsx) or dist/src/xds (compiled).
const CANDIDATES = [
  new URL('./generated/envoy-protos.json', import.meta.url),
  new URL('../../../src/xds/generated/envoy-protos.json', import.meta.url),
];

function loadRoot(): protobuf.Root {
  const found = CANDIDATES.find((u) => existsSync(u));
  if (!found) {
    throw new ProtoDescriptorMissingError(
      `skiff: the Envoy proto descriptor is missing (looked for ${CANDIDATES.map((u) => u.pathname).join(', ')}); run \`npm run build\``,
    );
  }
  return protobuf.Root.fromJSON(JSON.parse(readFileSync(found, 'utf8')) as protobuf.INamespace);
}

/** The loaded proto root; built once per process. */
export const protoRoot: protobuf.Root = loadRoot();

export function lookupMessage(fullName: string): protobuf.Type {
  return protoRoot.lookupType(fullName);
}
