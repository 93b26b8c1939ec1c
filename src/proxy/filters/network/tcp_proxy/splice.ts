// Joins a downstream and an upstream socket: bytes both ways with backpressure, half-close passed
// on (a FIN from one side ends the other's writing side, as Envoy's tcp_proxy does), an idle
// timeout over both directions, and a cap on the connection's lifetime.
import type { Socket } from 'node:net';
import type { TcpSession } from './session.js';

export interface SpliceOptions {
  /** 0 = none. */
  readonly idleTimeoutMs: number;
  /** 0 = none. */
  readonly maxDurationMs: number;
  /** Called once, when both sockets are closed. */
  readonly onClose?: (session: TcpSession) => void;
}

export function splice(
  downstream: Socket,
  upstream: Socket,
  session: TcpSession,
  o: SpliceOptions,
): void {
  let open = 2;
  let maxTimer: NodeJS.Timeout | undefined;
  const closeBoth = () => {
    downstream.destroy();
    upstream.destroy();
  };
  const onClosed = () => {
    if (--open > 0) return;
    if (maxTimer) clearTimeout(maxTimer);
    session.bytesReceived += downstream.bytesRead;
    session.bytesSent += upstream.bytesRead;
    session.endTime = performance.now();
    o.onClose?.(session);
  };
  downstream.once('close', onClosed);
  upstream.once('close', onClosed);
  // A reset on either side ends both: a half-open tunnel to a dead peer would linger.
  downstream.on('error', () => {
    session.responseFlags.add('DC');
    closeBoth();
  });
  upstream.on('error', () => {
    session.responseFlags.add('UC');
    closeBoth();
  });
  if (o.idleTimeoutMs > 0) {
    // Reads and writes both reset a socket's timer, and every byte either way touches the
    // downstream socket (read from it, or written to it), so one timer covers both directions.
    downstream.setTimeout(o.idleTimeoutMs, () => {
      session.terminationDetails = 'idle_timeout';
      closeBoth();
    });
  }
  if (o.maxDurationMs > 0) {
    maxTimer = setTimeout(() => {
      session.terminationDetails = 'max_duration_timeout';
      session.responseFlags.add('DT');
      closeBoth();
    }, o.maxDurationMs);
  }
  downstream.pipe(upstream);
  upstream.pipe(downstream);
  downstream.resume();
}
