// Opening a raw TCP connection to an upstream host, with the cluster's connect timeout; the
// failure is a ProxyError with Envoy's reset reason, so callers can set the response flag.
import net from 'node:net';
import type { ProxyError } from '../../../errors.js';
import { connectFailure } from '../../../errors.js';
import type { TcpKeepalive } from '../../../upstream/cluster-config.js';
import type { Host } from '../../../upstream/host.js';
import { applyKeepalive } from '../../../upstream/keepalive.js';
import { connectHostTls } from '../../../tls/upstream.js';
import { proxySecrets } from '../../../tls/secret-store.js';

/**
 * `keepalive` (the cluster's upstream_connection_options.tcp_keepalive): SO_KEEPALIVE with its
 * keepalive_time, keepalive_interval and keepalive_probes (applyKeepalive).
 */
export function connectTcp(
  host: Host,
  timeoutMs: number,
  keepalive?: TcpKeepalive,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    // allowHalfOpen: a FIN from the upstream must not end our writing side (tcp_proxy passes
    // half-closes on rather than closing both directions).
    const socket = net.connect({
      host: host.address,
      port: host.port,
      allowHalfOpen: true,
      noDelay: true,
    });
    applyKeepalive(socket, keepalive);
    let timer: NodeJS.Timeout | undefined;
    const fail = (err: ProxyError) => {
      if (timer) clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    if (timeoutMs > 0) {
      timer = setTimeout(() => fail(connectFailure('delayed connect error: timeout')), timeoutMs);
    }
    socket.once('error', (e: Error & { code?: string }) =>
      fail(connectFailure(`delayed connect error: ${e.code ?? e.message}`)),
    );
    socket.once('connect', () => {
      if (timer) clearTimeout(timer);
      socket.removeAllListeners('error');
      // Whoever takes the socket adds its own handler; until then an error must not crash us.
      socket.on('error', () => undefined);
      resolve(socket);
    });
  });
}

/**
 * A connection to `host` over its transport socket: TLS when the cluster's transport socket (or
 * the matching transport_socket_matches entry, e.g. auto mTLS to a sidecar) says so, else TCP.
 */
export function connectHost(
  host: Host,
  timeoutMs: number,
  keepalive?: TcpKeepalive,
): Promise<net.Socket> {
  return (
    connectHostTls(host, proxySecrets, timeoutMs, keepalive) ??
    connectTcp(host, timeoutMs, keepalive)
  );
}
