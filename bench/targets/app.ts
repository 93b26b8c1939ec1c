// The app behind every target: a tiny node:http server answering a fixed small body on $PORT,
// written out as a file so that the mesh's Workload and the standalone copy run the same code.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { execPath } from 'node:process';
import type { Cleanup } from '../cleanup.js';
import type { PortAllocator } from '../../src/launcher/ports.js';
import { startDaemon } from './daemon.js';

export const APP_FILE = 'echo-app.mjs';
export const APP_BODY = 'hello from echo\n';

// Keep-alive longer than any pause between phases, so that proxies' pooled connections to the
// app are not closed under them (a race that would show up as retries or errors, not latency).
const APP_SOURCE = `// Written by skiff's benchmark: answers every request with a fixed body.
import http from 'node:http';
const body = Buffer.from(${JSON.stringify(APP_BODY)});
const headers = { 'content-type': 'text/plain', 'content-length': String(body.length) };
const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, headers);
  res.end(body);
});
server.keepAliveTimeout = 120000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

/** Writes the app into `dir`; returns its path. */
export function writeApp(dir: string): string {
  const file = path.join(dir, APP_FILE);
  writeFileSync(file, APP_SOURCE);
  return file;
}

export interface StandaloneApp {
  readonly port: number;
  readonly pids: readonly number[];
}

/** The app on its own (for direct, nginx and haproxy), stopped by `cleanup`. */
export async function startApp(
  dir: string,
  ports: PortAllocator,
  cleanup: Cleanup,
): Promise<StandaloneApp> {
  const port = await ports.allocate();
  const file = writeApp(dir);
  const daemon = await startDaemon(
    {
      name: 'echo-app',
      command: [execPath, file],
      cwd: dir,
      env: { ...process.env, PORT: String(port) },
      logFile: path.join(dir, 'echo-app.log'),
      comm: 'node',
      ports: [port],
    },
    cleanup,
  );
  return { port, pids: daemon.pids };
}
