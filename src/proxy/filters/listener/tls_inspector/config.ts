// envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector → a listener filter that reads
// the ClientHello (without consuming it) so filter chains can match on SNI, ALPN and transport.
import type { ListenerFilter } from '../../../listeners/connection.js';
import { parseClientHello } from './client-hello.js';

type Obj = Record<string, unknown>;

export function compileTlsInspector(_typed: Obj): ListenerFilter {
  // enable_ja3_fingerprinting and friends only feed access logs; nothing to configure here.
  const filter: ListenerFilter = {
    name: 'envoy.filters.listener.tls_inspector',
    inspect(data, conn) {
      const result = parseClientHello(data);
      if (!result.done) return false;
      conn.transportProtocol = result.info.transportProtocol;
      conn.serverName = result.info.serverName;
      conn.applicationProtocols = result.info.applicationProtocols;
      return true;
    },
  };
  return Object.freeze(filter);
}
