// Bookinfo's four apps as real processes, with a small forward proxy standing in for skiff's sidecar.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '..');
const STARTUP_DEADLINE_MS = 60_000;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

// Keep-alive on the client side too, so SIGTERM meets idle connections as it would in a mesh.
const clientAgent = new http.Agent({ keepAlive: true });

function request(
  port: number,
  options: { method?: string; path: string; headers?: http.OutgoingHttpHeaders; body?: string },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        agent: clientAgent,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Poll `check` until it holds; fail at the deadline, or at once when `failure` names a reason. */
async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  failure: () => string | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + STARTUP_DEADLINE_MS;
  while (!(await check().catch(() => false))) {
    const reason = failure() ?? (Date.now() > deadline ? 'deadline passed' : undefined);
    if (reason) throw new Error(`waiting for ${what}: ${reason}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

class App {
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  constructor(
    readonly name: string,
    readonly port: number,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
  }
}

const apps: App[] = [];

/** Run examples/bookinfo/src/<script>.ts from source on a free port and wait for /health. */
async function startApp(name: string, script: string, env: Record<string, string>): Promise<App> {
  const port = await freePort();
  const base = { ...process.env };
  for (const key of Object.keys(base)) {
    if (/^(https?_proxy|no_proxy|node_test_context|skiff_instance|services_domain)$/i.test(key))
      delete base[key];
    if (/_(HOSTNAME|SERVICE_PORT)$/.test(key)) delete base[key];
  }
  const child = spawn(process.execPath, ['--import', 'tsx', `examples/bookinfo/src/${script}.ts`], {
    cwd: ROOT,
    env: { ...base, PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const app = new App(name, port, child);
  apps.push(app);
  let exited = false;
  void app.exited.then(() => (exited = true));
  await waitFor(
    `${name} on port ${port}`,
    async () => (await request(port, { path: '/health' })).status === 200,
    () => (exited ? `it exited:\n${app.output}` : undefined),
  );
  return app;
}

interface Seen {
  target: string;
  host: string | undefined;
  headers: http.IncomingHttpHeaders;
}

/** Stands in for skiff's sidecar: accepts forward-proxy requests and routes them by service name
 *  through `route`, which a test may replace (undefined = no endpoint, like Envoy's 503). */
class Sidecar {
  readonly seen: Seen[] = [];
  route: (service: string, headers: http.IncomingHttpHeaders) => number | 'hang' | undefined = () =>
    undefined;
  private readonly hanging = new Set<http.ServerResponse>();
  private readonly agent = new http.Agent({ keepAlive: true });
  readonly server = http.createServer((req, res) => this.handle(req, res));

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.seen.push({ target: req.url ?? '', host: req.headers.host, headers: req.headers });
    if (!req.url?.startsWith('http://')) {
      res.writeHead(400).end('expected an absolute-form request-target');
      return;
    }
    const url = new URL(req.url);
    const port = this.route(url.hostname, req.headers);
    if (port === 'hang') {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    if (port === undefined) {
      res.writeHead(503).end('no healthy upstream');
      return;
    }
    const upstream = http.request(
      {
        host: '127.0.0.1',
        port,
        agent: this.agent,
        method: req.method,
        path: url.pathname + url.search,
        headers: req.headers,
      },
      (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(503).end('upstream connect error');
    });
    req.pipe(upstream);
  }

  /** Requests that carried this x-request-id, by service name. */
  requestsFor(requestId: string): Map<string, Seen> {
    const out = new Map<string, Seen>();
    for (const seen of this.seen) {
      if (seen.headers['x-request-id'] === requestId) out.set(new URL(seen.target).hostname, seen);
    }
    return out;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.agent.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('Bookinfo apps', () => {
  const sidecar = new Sidecar();
  let proxyUrl = '';
  let details: App, ratings: App, productpage: App;
  const reviews: Record<'v1' | 'v2' | 'v3', App | undefined> = {
    v1: undefined,
    v2: undefined,
    v3: undefined,
  };
  let ratingsUp = true;
  /** Which reviews version the sidecar sends traffic to, as a VirtualService would. */
  let reviewsRoute: (headers: http.IncomingHttpHeaders) => 'v1' | 'v2' | 'v3' = () => 'v1';
  let detailsRoute: 'up' | 'down' | 'hang' = 'up';

  let nextId = 0;
  const page = (headers: http.OutgoingHttpHeaders = {}): Promise<Reply> => {
    const requestId = `test-${++nextId}`;
    return request(productpage.port, {
      path: '/productpage',
      headers: { 'x-request-id': requestId, ...headers },
    });
  };

  before(async () => {
    await new Promise<void>((resolve) => sidecar.server.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(sidecar.server.address() as AddressInfo).port}`;
    sidecar.route = (service, headers) => {
      if (service === 'details')
        return detailsRoute === 'up' ? details.port : detailsRoute === 'hang' ? 'hang' : undefined;
      if (service === 'ratings') return ratingsUp ? ratings.port : undefined;
      if (service === 'reviews') return reviews[reviewsRoute(headers)]?.port;
      return undefined;
    };
    const mesh = { HTTP_PROXY: proxyUrl };
    const reviewsEnv = (v: string, enable: string, color?: string) => ({
      ...mesh,
      SKIFF_INSTANCE: `reviews-${v}-0`,
      SERVICE_VERSION: v,
      ENABLE_RATINGS: enable,
      ...(color ? { STAR_COLOR: color } : {}),
    });
    [details, ratings, reviews.v1, reviews.v2, reviews.v3, productpage] = await Promise.all([
      startApp('details', 'details', mesh),
      startApp('ratings', 'ratings', mesh),
      startApp('reviews-v1', 'reviews', reviewsEnv('v1', 'false')),
      startApp('reviews-v2', 'reviews', reviewsEnv('v2', 'true', 'black')),
      startApp('reviews-v3', 'reviews', reviewsEnv('v3', 'true', 'red')),
      startApp('productpage', 'productpage', mesh),
    ]);
  });

  after(async () => {
    for (const app of apps) app.child.kill('SIGKILL');
    clientAgent.destroy();
    await sidecar.close();
  });

  test('details, ratings and reviews answer as the originals do', async () => {
    const d = await request(details.port, { path: '/details/0' });
    assert.equal(d.status, 200);
    assert.deepEqual(JSON.parse(d.body), {
      id: 0,
      author: 'William Shakespeare',
      year: 1595,
      type: 'paperback',
      pages: 200,
      publisher: 'PublisherA',
      language: 'English',
      'ISBN-10': '1234567890',
      'ISBN-13': '123-1234567890',
    });
    assert.equal((await request(details.port, { path: '/details/x' })).status, 400);
    const r = await request(ratings.port, { path: '/ratings/0' });
    assert.deepEqual(JSON.parse(r.body), { id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } });
    const v1 = JSON.parse((await request(reviews.v1!.port, { path: '/reviews/0' })).body);
    assert.equal(v1.podname, 'reviews-v1-0');
    assert.deepEqual(
      v1.reviews.map((x: { reviewer: string }) => x.reviewer),
      ['Reviewer1', 'Reviewer2'],
    );
    assert.ok(v1.reviews.every((x: object) => !('rating' in x)));
    const v3 = JSON.parse((await request(reviews.v3!.port, { path: '/reviews/0' })).body);
    assert.deepEqual(
      v3.reviews.map((x: { rating: unknown }) => x.rating),
      [
        { stars: 5, color: 'red' },
        { stars: 4, color: 'red' },
      ],
    );
  });

  test('the product page shows details, and v1 reviews without stars', async () => {
    reviewsRoute = () => 'v1';
    const reply = await page();
    assert.equal(reply.status, 200);
    for (const text of [
      'The Comedy of Errors',
      'paperback',
      'PublisherA',
      '123-1234567890',
      'Reviewer1',
      'slapstick humour',
    ]) {
      assert.ok(reply.body.includes(text), `page lacks ${text}`);
    }
    assert.match(reply.body, /Reviews served by: reviews-v1-0/);
    assert.doesNotMatch(reply.body, /<font color=|glyphicon-star/);
  });

  test('v2 renders black stars and v3 red ones: filled for each star, empty for the rest', async () => {
    for (const [version, color] of [
      ['v2', 'black'],
      ['v3', 'red'],
    ] as const) {
      reviewsRoute = () => version;
      const { body } = await page();
      assert.match(body, new RegExp(`Reviews served by: reviews-${version}-0`));
      assert.equal(body.match(new RegExp(`<font color="${color}">`, 'g'))?.length, 2, body);
      assert.doesNotMatch(body, new RegExp(`<font color="${color === 'red' ? 'black' : 'red'}">`));
      // Reviewer1 gave 5 stars and Reviewer2 4: nine filled, one empty.
      assert.equal(body.match(/glyphicon-star"/g)?.length, 9);
      assert.equal(body.match(/glyphicon-star-empty"/g)?.length, 1);
    }
  });

  test('signing in as jason sends end-user: jason to reviews, which routes on it', async () => {
    // virtual-service-reviews-jason-v2-v3.yaml: jason to v2, everyone else to v3.
    reviewsRoute = (headers) => (headers['end-user'] === 'jason' ? 'v2' : 'v3');
    const login = await request(productpage.port, {
      method: 'POST',
      path: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=jason&passwd=x',
    });
    assert.equal(login.status, 302);
    assert.equal(login.headers.location, '/productpage');
    const cookie = login.headers['set-cookie']?.[0]?.split(';')[0];
    assert.equal(cookie, 'session=jason');

    const signedIn = await page({ cookie, 'x-request-id': 'jason-1' });
    assert.match(signedIn.body, /Signed in as jason/);
    assert.match(signedIn.body, /Reviews served by: reviews-v2-0/);
    assert.match(signedIn.body, /<font color="black">/);
    const calls = sidecar.requestsFor('jason-1');
    assert.equal(calls.get('reviews')?.headers['end-user'], 'jason');
    assert.equal(calls.get('ratings')?.headers['end-user'], 'jason', 'reviews forwards end-user');

    const logout = await request(productpage.port, { path: '/logout', headers: { cookie } });
    assert.equal(logout.status, 302);
    assert.match(String(logout.headers['set-cookie']), /session=;.*Max-Age=0/);
    const anonymous = await page({ 'x-request-id': 'anonymous-1' });
    assert.doesNotMatch(anonymous.body, /Signed in as/);
    assert.match(anonymous.body, /Reviews served by: reviews-v3-0/);
    assert.equal(sidecar.requestsFor('anonymous-1').get('reviews')?.headers['end-user'], undefined);
  });

  test('outbound calls go to the proxy in absolute form and carry the tracing headers', async () => {
    reviewsRoute = () => 'v2';
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await page({
      'x-request-id': 'trace-1',
      traceparent,
      'x-b3-traceid': '80f198ee56343ba8',
      'user-agent': 'bookinfo-test',
    });
    const calls = sidecar.requestsFor('trace-1');
    assert.deepEqual([...calls.keys()].sort(), ['details', 'ratings', 'reviews']);
    for (const [service, seen] of calls) {
      assert.equal(seen.host, `${service}:9080`);
      assert.equal(seen.target, `http://${service}:9080/${service}/0`);
      assert.equal(seen.headers.traceparent, traceparent, service);
      assert.equal(seen.headers['x-b3-traceid'], '80f198ee56343ba8', service);
      assert.equal(seen.headers['user-agent'], 'bookinfo-test', service);
    }
  });

  test("the page still renders when details or reviews are down, with Istio's messages", async () => {
    reviewsRoute = () => 'v3';
    try {
      detailsRoute = 'down';
      const noDetails = await page();
      assert.equal(noDetails.status, 200);
      assert.match(
        noDetails.body,
        /Sorry, product details are currently unavailable for this book\./,
      );
      assert.match(noDetails.body, /Reviews served by: reviews-v3-0/);

      detailsRoute = 'hang';
      const slowDetails = await page();
      assert.match(
        slowDetails.body,
        /Sorry, product details are currently unavailable for this book\./,
      );
    } finally {
      detailsRoute = 'up';
    }
    reviewsRoute = () => 'v1';
    const saved = reviews.v1;
    reviews.v1 = undefined;
    try {
      const noReviews = await page();
      assert.equal(noReviews.status, 200);
      assert.match(
        noReviews.body,
        /Sorry, product reviews are currently unavailable for this book\./,
      );
      assert.match(noReviews.body, /PublisherA/);
      const api = await request(productpage.port, { path: '/api/v1/products/0/reviews' });
      assert.equal(api.status, 503);
      assert.deepEqual(JSON.parse(api.body), {
        error: 'Sorry, product reviews are currently unavailable for this book.',
      });
    } finally {
      reviews.v1 = saved;
    }
  });

  test('reviews shows the ratings error when ratings is down', async () => {
    reviewsRoute = () => 'v2';
    ratingsUp = false;
    try {
      const { body } = await page();
      assert.equal(body.match(/Ratings service is currently unavailable/g)?.length, 2);
      assert.doesNotMatch(body, /<font color=/);
    } finally {
      ratingsUp = true;
    }
  });

  test('the products API proxies the backends', async () => {
    reviewsRoute = () => 'v3';
    const list = JSON.parse((await request(productpage.port, { path: '/api/v1/products' })).body);
    assert.equal(list[0].title, 'The Comedy of Errors');
    const one = JSON.parse((await request(productpage.port, { path: '/api/v1/products/0' })).body);
    assert.equal(one.publisher, 'PublisherA');
    const revs = JSON.parse(
      (await request(productpage.port, { path: '/api/v1/products/0/reviews' })).body,
    );
    assert.equal(revs.podname, 'reviews-v3-0');
    const rats = JSON.parse(
      (await request(productpage.port, { path: '/api/v1/products/0/ratings' })).body,
    );
    assert.deepEqual(rats.ratings, { Reviewer1: 5, Reviewer2: 4 });
    assert.match((await request(productpage.port, { path: '/' })).body, /href="\/productpage"/);
  });

  test('without HTTP_PROXY an app connects directly to the addresses in its env', async () => {
    const direct = await startApp('productpage-direct', 'productpage', {
      DETAILS_HOSTNAME: '127.0.0.1',
      DETAILS_SERVICE_PORT: String(details.port),
      REVIEWS_HOSTNAME: '127.0.0.1',
      REVIEWS_SERVICE_PORT: String(reviews.v3!.port),
    });
    const { body } = await request(direct.port, {
      path: '/productpage',
      headers: { 'x-request-id': 'direct-1' },
    });
    assert.match(body, /PublisherA/);
    assert.match(body, /Reviews served by: reviews-v3-0/);
    // Only reviews-v3's own call to ratings went through the proxy.
    assert.deepEqual([...sidecar.requestsFor('direct-1').keys()], ['ratings']);
  });

  test('every app exits cleanly on SIGTERM', async () => {
    for (const app of apps) app.child.kill('SIGTERM');
    for (const app of apps) {
      assert.deepEqual(await app.exited, { code: 0, signal: null }, `${app.name}:\n${app.output}`);
    }
  });
});
