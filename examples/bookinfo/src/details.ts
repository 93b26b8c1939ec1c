// details: the book's bibliographic data, as Bookinfo's Ruby details v1 serves it.
import { productId, sendJson, serve } from './lib/server.js';

serve('details', (req, res, url) => {
  if (req.method !== 'GET') return sendJson(res, 405, { error: 'method not allowed' });
  if (url.pathname === '/health') return sendJson(res, 200, { status: 'Details is healthy' });
  const match = /^\/details\/([^/]*)$/.exec(url.pathname);
  if (!match) return sendJson(res, 404, { error: 'not found' });
  const id = productId(match[1]);
  if (Number.isNaN(id)) return sendJson(res, 400, { error: 'please provide numeric product id' });
  sendJson(res, 200, {
    id,
    author: 'William Shakespeare',
    year: 1595,
    type: 'paperback',
    pages: 200,
    publisher: 'PublisherA',
    language: 'English',
    'ISBN-10': '1234567890',
    'ISBN-13': '123-1234567890',
  });
});
