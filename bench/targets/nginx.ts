// nginx as the peer of skiff's sidecar pair: two nginx processes, "outbound" (takes requests in
// forward-proxy form, as a sidecar's HTTP proxy listener does) and "inbound" (in front of the
// app), each one worker, no access log, HTTP/1.1 keep-alive pools to the next hop.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Cleanup } from '../cleanup.js';
import { startDaemon, type Daemon } from './daemon.js';
import { startPair, type HopConfig, type PairOptions } from './pair.js';
import type { RunningTarget } from './types.js';

/**
 * One hop's nginx.conf. An absolute-form request line (`GET http://echo:9080/`) is accepted by
 * nginx as any request (RFC 9112 §3.2.2), and proxy_pass without a URI sends the path on.
 * Upstream keep-alive needs HTTP/1.1 and an empty Connection header (nginx docs, "keepalive").
 */
export function nginxConfig(c: HopConfig): string {
  const tmp = (name: string): string => path.join(c.dir, 'tmp', name);
  return `# Written by skiff's benchmark.
worker_processes 1;
error_log ${path.join(c.dir, 'error.log')} warn;
pid ${path.join(c.dir, 'nginx.pid')};
events {
  worker_connections 4096;
}
http {
  access_log off;
  client_body_temp_path ${tmp('body')};
  proxy_temp_path ${tmp('proxy')};
  fastcgi_temp_path ${tmp('fastcgi')};
  uwsgi_temp_path ${tmp('uwsgi')};
  scgi_temp_path ${tmp('scgi')};
  keepalive_timeout 120s;
  keepalive_requests 1000000;
  upstream next_hop {
    server 127.0.0.1:${c.upstreamPort};
    keepalive 64;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
  }
  server {
    listen 127.0.0.1:${c.listenPort};
    location / {
      proxy_pass http://next_hop;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
    }
  }
}
`;
}

async function startNginx(
  binary: string,
  label: 'outbound' | 'inbound',
  hop: HopConfig,
  cleanup: Cleanup,
): Promise<Daemon> {
  mkdirSync(path.join(hop.dir, 'tmp'), { recursive: true, mode: 0o755 });
  const conf = path.join(hop.dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(hop));
  return startDaemon(
    {
      name: `nginx-${label}`,
      // -e: nginx opens its default error log before it reads the config; point it here too.
      command: [
        binary,
        '-p',
        hop.dir,
        '-c',
        conf,
        '-e',
        path.join(hop.dir, 'error.log'),
        '-g',
        'daemon off;',
      ],
      cwd: hop.dir,
      env: process.env,
      logFile: path.join(hop.dir, 'stdout.log'),
      comm: 'nginx',
      ports: [hop.listenPort],
      processes: 2,
    },
    cleanup,
  );
}

export function startNginxPair(o: PairOptions): Promise<RunningTarget> {
  return startPair('nginx', o, (label, hop) => startNginx(o.binary, label, hop, o.cleanup));
}
