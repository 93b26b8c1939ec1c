// Turns one DiscoveryResponse into the complete set of its type the proxy should hold, by the
// state-of-the-world rules of the xDS protocol ("Grouping Resources into Responses", "Deleting
// Resources", "How the client specifies what resources to return").
import type { DiscoveryResponse } from '../../xds/ads-service.js';
import { resourceNameOf } from '../../xds/ads-service.js';
import { unpackAny } from '../../xds/wire/decode.js';
import { WILDCARD_TYPES } from '../../xds/types.js';

export type Json = Record<string, unknown>;

/** A decoded resource and the bytes it came from (to tell an unchanged resource cheaply). */
export interface Received {
  readonly resource: Json;
  readonly bytes: Uint8Array;
}

/** A response the client must NACK; the message goes back to the server in error_detail. */
export class ResponseError extends Error {
  readonly code = 'ERR_XDS_RESPONSE';
}

/** Decodes every resource, keyed by its name. Throws ResponseError for anything unusable. */
export function decodeResources(response: DiscoveryResponse): Map<string, Received> {
  const out = new Map<string, Received>();
  response.resources.forEach((any, i) => {
    if (any.type_url !== response.type_url) {
      throw new ResponseError(
        `resources[${i}]: type ${any.type_url} in a response of type ${response.type_url}`,
      );
    }
    let resource: Json;
    try {
      resource = unpackAny(any);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new ResponseError(`resources[${i}]: cannot decode: ${message}`);
    }
    const name = resourceNameOf(response.type_url, resource);
    if (!name) throw new ResponseError(`resources[${i}]: the resource has no name`);
    // "Clients should NACK responses that contain multiple instances of the same resource name."
    if (out.has(name)) throw new ResponseError(`resources[${i}]: ${name} appears twice`);
    out.set(name, { resource, bytes: any.value });
  });
  return out;
}

/**
 * The set after the response. A wildcard subscription takes the response as the whole set. A
 * named one ignores resources it did not ask for; for Listener and Cluster the response still
 * holds every requested resource (absent = deleted), while for the other types the server may
 * send only what changed, so the response is laid over what the client already had.
 */
export function nextResourceSet<V>(
  typeUrl: string,
  previous: ReadonlyMap<string, V>,
  decoded: ReadonlyMap<string, V>,
  names: '*' | readonly string[],
): Map<string, V> {
  if (names === '*') return new Map(decoded);
  const wanted = new Set(names);
  const out = new Map<string, V>();
  if (!WILDCARD_TYPES.has(typeUrl)) {
    for (const [name, resource] of previous) if (wanted.has(name)) out.set(name, resource);
  }
  for (const [name, resource] of decoded) if (wanted.has(name)) out.set(name, resource);
  return out;
}

/** Same names with the same bytes: the proxy has nothing to redo (e.g. after a reconnect). */
export function sameContent(
  a: ReadonlyMap<string, Received>,
  b: ReadonlyMap<string, Received>,
): boolean {
  if (a.size !== b.size) return false;
  for (const [name, x] of a) {
    const y = b.get(name);
    if (
      !y ||
      !Buffer.from(x.bytes.buffer, x.bytes.byteOffset, x.bytes.byteLength).equals(y.bytes)
    ) {
      return false;
    }
  }
  return true;
}
