// ratings: the stars each reviewer gave, as Bookinfo's Node ratings v1 serves them.
import { productId, sendJson, serve } from './lib/server.js';

serve('ratings', (req, res, url) => {
  if (req.method !== 'GET') return sendJson(res, 405, { error: 'method not allowed' });
  if (url.pathname === '/health') return sendJson(res, 200, { status: 'Ratings is healthy' });
  const match = /^\/ratings\/([^/]*)$/.exec(url.pathname);
  if (!match) return sendJson(res, 404, { error: 'not found' });
  const id = productId(match[1]);
  if (Number.isNaN(id)) return sendJson(res, 400, { error: 'please provide numeric product ID' });
  sendJson(res, 200, { id, ratings: { Reviewer1: 5, Reviewer2: 4 } });
});
