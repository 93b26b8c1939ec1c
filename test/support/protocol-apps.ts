// The apps the protocol tests run as workloads, as source text: a gRPC echo server (grpc-js, a
// proto of its own), a server-first TCP echo, a TLS server that says who it is, and an HTTP
// server that also takes WebSocket upgrades. Each reads its port from PORT and its name from
// VERSION, and exits on SIGTERM.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { ROOT } from './skiff.js';
import { WS_SERVER_SOURCE } from './ws.js';

const require = createRequire(`${ROOT}/package.json`);
const GRPC = pathToFileURL(require.resolve('@grpc/grpc-js')).href;
const PROTO_LOADER = pathToFileURL(require.resolve('@grpc/proto-loader')).href;

export const ECHO_PROTO = `
syntax = "proto3";
package skiff.test;

service Echo {
  rpc Unary (EchoRequest) returns (EchoReply);
  rpc ServerStream (EchoRequest) returns (stream EchoReply);
  rpc Bidi (stream EchoRequest) returns (stream EchoReply);
}

message EchoRequest {
  string message = 1;
  int32 count = 2;
}

message EchoReply {
  string message = 1;
  string version = 2;
}
`;

/** Unary echoes (and fails with NOT_FOUND for "missing"); streams echo `count` times or per message. */
export const GRPC_SERVER = `
import grpc from '${GRPC}';
import loader from '${PROTO_LOADER}';
import path from 'node:path';
const def = loader.loadSync(path.resolve('echo.proto'), { keepCase: true });
const proto = grpc.loadPackageDefinition(def).skiff.test;
const version = process.env.VERSION;
const server = new grpc.Server();
server.addService(proto.Echo.service, {
  Unary(call, callback) {
    const initial = new grpc.Metadata();
    initial.set('x-echo-client', String(call.metadata.get('x-client')[0] ?? ''));
    call.sendMetadata(initial);
    const trailer = new grpc.Metadata();
    trailer.set('x-echo-trailer', version);
    if (call.request.message === 'missing') {
      trailer.set('x-reason', 'nothing by that name');
      callback({ code: grpc.status.NOT_FOUND, details: 'no such message', metadata: trailer });
      return;
    }
    callback(null, { message: call.request.message, version }, trailer);
  },
  ServerStream(call) {
    for (let i = 0; i < call.request.count; i++)
      call.write({ message: call.request.message + ' #' + i, version });
    const trailer = new grpc.Metadata();
    trailer.set('x-echo-trailer', version);
    call.end(trailer);
  },
  Bidi(call) {
    call.on('data', (req) => call.write({ message: 'echo ' + req.message, version }));
    call.on('end', () => call.end());
  },
});
server.bindAsync('127.0.0.1:' + process.env.PORT, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
`;

/** Speaks first ("hello from <VERSION>"), then answers each line with "<VERSION>: <line>". */
export const TCP_ECHO = `
import net from 'node:net';
const version = process.env.VERSION;
const server = net.createServer((socket) => {
  socket.write('hello from ' + version + '\\n');
  let buffered = '';
  socket.on('data', (chunk) => {
    buffered += chunk.toString('utf8');
    let nl;
    while ((nl = buffered.indexOf('\\n')) >= 0) {
      socket.write(version + ': ' + buffered.slice(0, nl) + '\\n');
      buffered = buffered.slice(nl + 1);
    }
  });
  socket.on('end', () => socket.end());
  socket.on('error', () => {});
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

/** A TLS server (cert.pem/key.pem beside it) answering "<VERSION> <sni>" and closing. */
export const TLS_ECHO = `
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
const version = process.env.VERSION;
const server = tls.createServer(
  { cert: readFileSync('cert.pem'), key: readFileSync('key.pem') },
  (socket) => socket.end(version + ' ' + (socket.servername || '-') + '\\n'),
);
server.on('tlsClientError', () => {});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

/** HTTP: "<VERSION> <method> <path> host=<host>"; WebSocket on /ws: echoes each text frame. */
export const WEB_APP = `
import http from 'node:http';
${WS_SERVER_SOURCE}
const version = process.env.VERSION;
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.setHeader('content-type', 'text/plain');
    res.end(version + ' ' + req.method + ' ' + req.url + ' host=' + req.headers.host);
  });
});
server.on('upgrade', (req, socket, head) => {
  if (req.url !== '/ws' || String(req.headers.upgrade).toLowerCase() !== 'websocket') {
    socket.end('HTTP/1.1 404 Not Found\\r\\ncontent-length: 9\\r\\n\\r\\nnot here\\n');
    return;
  }
  socket.write(
    'HTTP/1.1 101 Switching Protocols\\r\\nupgrade: websocket\\r\\nconnection: Upgrade\\r\\n' +
      'sec-websocket-accept: ' + acceptKey(String(req.headers['sec-websocket-key'])) + '\\r\\n\\r\\n',
  );
  let buffered = head;
  const onData = (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    const { texts, rest } = readFrames(buffered);
    buffered = rest;
    for (const t of texts) socket.write(textFrame(version + ' echo: ' + t));
  };
  socket.on('data', onData);
  onData(Buffer.alloc(0));
  socket.on('error', () => {});
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

/**
 * A TCP server on every `PORT_<NAME>` the launcher gives it: speaks first ("<VERSION> <name>\n",
 * as MySQL's server greeting does), then echoes every byte back unchanged (binary protocols such
 * as Mongo's and Redis's must cross byte-exact).
 */
export const MULTI_TCP = `
import net from 'node:net';
const version = process.env.VERSION;
for (const [key, value] of Object.entries(process.env)) {
  if (!key.startsWith('PORT_')) continue;
  const name = key.slice(5).toLowerCase().replace(/_/g, '-');
  const server = net.createServer((socket) => {
    socket.write(version + ' ' + name + '\\n');
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('end', () => socket.end());
    socket.on('error', () => {});
  });
  server.listen(Number(value), '127.0.0.1');
}
process.on('SIGTERM', () => process.exit(0));
`;

/** HTTP/2 only (h2c prior knowledge): "<VERSION> <method> <path> http/<version>". */
export const H2C_APP = `
import http2 from 'node:http2';
const version = process.env.VERSION;
const server = http2.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.end(version + ' ' + req.method + ' ' + req.url + ' http/' + req.httpVersion));
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;
