// Readiness probes, as kubelet's: a TCP connect, an HTTP GET expecting 200.
import http from 'node:http';
import net from 'node:net';

/** True when `host:port` accepts a TCP connection within timeoutMs. */
export function tcpAccepts(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** True when GET `url` answers 200 within timeoutMs (no keep-alive: probes leave nothing open). */
export function httpOk(url: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
  });
}

/** The JSON body of GET `url` when it answers 200 within timeoutMs, else undefined. */
export function httpJson(url: string, timeoutMs = 1000): Promise<unknown> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () => resolve(undefined));
      res.on('end', () => {
        if (res.statusCode !== 200) return resolve(undefined);
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          resolve(undefined);
        }
      });
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(undefined));
  });
}

/** `http://` + address, for addresses written bare (`127.0.0.1:15014`). */
export function httpBase(address: string): string {
  return /^https?:\/\//.test(address) ? address.replace(/\/$/, '') : `http://${address}`;
}
