// productpage: the web front of Bookinfo; calls details and reviews and renders the book's page.
import type http from 'node:http';
import { forwardHeaders, getJson, serviceUrl } from './lib/http.js';
import type { Fetched, Product } from './lib/page.js';
import { STYLESHEET, indexPage, loginPage, productPage } from './lib/page.js';
import { productId, readBody, redirect, sendHtml, sendJson, serve } from './lib/server.js';

const PRODUCTS: Product[] = [
  {
    id: 0,
    title: 'The Comedy of Errors',
    descriptionHtml:
      '<a href="https://en.wikipedia.org/wiki/The_Comedy_of_Errors">Wikipedia Summary</a>: ' +
      "The Comedy of Errors is one of <b>William Shakespeare's</b> early plays. It is his shortest " +
      'and one of his most farcical comedies, with a major part of the humour coming from ' +
      'slapstick and mistaken identity, in addition to puns and word play.',
  },
];

// The original's timeouts: 3s per call, and one retry for reviews (Istio's fault-injection task
// counts on the resulting 6s).
const TIMEOUT_MS = 3000;
const UNAVAILABLE = {
  details: 'Sorry, product details are currently unavailable for this book.',
  reviews: 'Sorry, product reviews are currently unavailable for this book.',
  ratings: 'Sorry, product ratings are currently unavailable for this book.',
};

// User names travel in a cookie and in the end-user header, so keep them to safe characters.
const USER_NAME = /^[\w.@+-]{1,64}$/;

type Backend = keyof typeof UNAVAILABLE;

interface Outcome {
  status: number;
  fetched: Fetched;
}

async function fetchFrom(
  backend: Backend,
  id: number,
  headers: Record<string, string>,
): Promise<Outcome> {
  const url = `${serviceUrl(backend)}/${backend}/${id}`;
  const attempts = backend === 'reviews' ? 2 : 1;
  let status = 500;
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      const res = await getJson(url, { headers, timeoutMs: TIMEOUT_MS });
      if (res.status === 200) return { status: 200, fetched: { ok: true, json: res.json } };
      status = res.status;
    } catch (err) {
      status = 500;
      console.error(`productpage: ${(err as Error).message}`);
    }
  }
  return { status, fetched: { ok: false, error: UNAVAILABLE[backend] } };
}

function sessionUser(req: http.IncomingMessage): string | undefined {
  for (const pair of (req.headers.cookie ?? '').split(';')) {
    const [name, value] = pair.trim().split('=', 2);
    if (name === 'session' && value && USER_NAME.test(value)) return value;
  }
  return undefined;
}

/** Headers for calls to details, reviews and ratings: the propagated set, and the signed-in user
 *  as `end-user`, which Istio's virtual-service-reviews-jason-v2-v3.yaml routes on. */
function outboundHeaders(
  req: http.IncomingMessage,
  user: string | undefined,
): Record<string, string> {
  const headers = forwardHeaders(req.headers);
  if (user) headers['end-user'] = user;
  return headers;
}

async function login(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const user = new URLSearchParams(await readBody(req)).get('username') ?? '';
  if (!USER_NAME.test(user)) {
    return sendHtml(res, 400, loginPage(undefined, 'User names are letters, digits and . _ @ + -'));
  }
  redirect(res, '/productpage', `session=${user}; Path=/; HttpOnly; SameSite=Lax`);
}

async function showProduct(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  user: string | undefined,
): Promise<void> {
  const product = PRODUCTS[0]!;
  const headers = outboundHeaders(req, user);
  const [details, reviews] = await Promise.all([
    fetchFrom('details', product.id, headers),
    fetchFrom('reviews', product.id, headers),
  ]);
  sendHtml(
    res,
    200,
    productPage({ product, user, details: details.fetched, reviews: reviews.fetched }),
  );
}

/** /api/v1/products/<id>[/reviews|/ratings]: the backend's JSON, or its error and status. */
async function productApi(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  match: RegExpExecArray,
): Promise<void> {
  const id = productId(match[1]);
  if (Number.isNaN(id)) return sendJson(res, 400, { error: 'please provide numeric product id' });
  const backend: Backend = match[2] === 'reviews' || match[2] === 'ratings' ? match[2] : 'details';
  const { status, fetched } = await fetchFrom(backend, id, outboundHeaders(req, sessionUser(req)));
  sendJson(res, fetched.ok ? 200 : status, fetched.ok ? fetched.json : { error: fetched.error });
}

serve('productpage', async (req, res, url) => {
  const path = url.pathname;
  const user = sessionUser(req);
  if (req.method === 'POST' && path === '/login') return login(req, res);
  if (req.method !== 'GET') return sendJson(res, 405, { error: 'method not allowed' });
  switch (path) {
    case '/':
    case '/index.html':
      return sendHtml(res, 200, indexPage());
    case '/health':
      return sendJson(res, 200, { status: 'Productpage is healthy' });
    case '/login':
      return sendHtml(res, 200, loginPage(user));
    case '/logout':
      return redirect(res, '/productpage', 'session=; Path=/; Max-Age=0');
    case '/productpage':
      return showProduct(req, res, user);
    case '/api/v1/products':
      return sendJson(res, 200, PRODUCTS);
    case '/static/bookinfo.css':
      res.writeHead(200, { 'content-type': 'text/css' });
      return res.end(STYLESHEET);
  }
  const api = /^\/api\/v1\/products\/([^/]+)(?:\/(reviews|ratings))?$/.exec(path);
  if (api) return productApi(req, res, api);
  sendJson(res, 404, { error: 'not found' });
});
