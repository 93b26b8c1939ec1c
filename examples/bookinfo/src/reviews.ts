// reviews: two reviews of the book; v2 and v3 add each reviewer's stars from ratings.
import { forwardHeaders, getJson, serviceUrl } from './lib/http.js';
import { instanceName, productId, sendJson, serve } from './lib/server.js';

// The Java original is configured by env: ENABLE_RATINGS and STAR_COLOR pick the behaviour, and
// SERVICE_VERSION names it. When only the version is given, take its usual settings.
const version = process.env.SERVICE_VERSION ?? 'v1';
const ratingsEnabled = (process.env.ENABLE_RATINGS ?? String(version !== 'v1')) === 'true';
const starColor = process.env.STAR_COLOR ?? (version === 'v3' ? 'red' : 'black');
// The original's deliberate quirk, which Istio's fault-injection task relies on: black stars
// wait 10s for ratings, red ones 2.5s.
const ratingsTimeoutMs = starColor === 'black' ? 10_000 : 2_500;
// The Java app prints a missing CLUSTER_NAME as "null", and productpage checks for that string.
const clusterName = process.env.CLUSTER_NAME ?? 'null';

const REVIEWS = [
  {
    reviewer: 'Reviewer1',
    text: 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!',
  },
  {
    reviewer: 'Reviewer2',
    text: 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.',
  },
];

type Rating = { stars: number; color: string } | { error: string };

/** Stars per reviewer, or undefined when ratings did not answer with them. */
async function fetchRatings(
  id: number,
  headers: Record<string, string>,
): Promise<Record<string, unknown> | undefined> {
  try {
    const url = `${serviceUrl('ratings')}/ratings/${id}`;
    const { json } = await getJson(url, { headers, timeoutMs: ratingsTimeoutMs });
    const ratings = (json as { ratings?: unknown } | undefined)?.ratings;
    return typeof ratings === 'object' && ratings !== null
      ? (ratings as Record<string, unknown>)
      : undefined;
  } catch (err) {
    console.error(`reviews: ratings: ${(err as Error).message}`);
    return undefined;
  }
}

function ratingOf(reviewer: string, ratings: Record<string, unknown> | undefined): Rating {
  const stars = ratings?.[reviewer];
  return typeof stars === 'number'
    ? { stars, color: starColor }
    : { error: 'Ratings service is currently unavailable' };
}

serve('reviews', async (req, res, url) => {
  if (req.method !== 'GET') return sendJson(res, 405, { error: 'method not allowed' });
  if (url.pathname === '/health') return sendJson(res, 200, { status: 'Reviews is healthy' });
  const match = /^\/reviews\/([^/]*)$/.exec(url.pathname);
  if (!match) return sendJson(res, 404, { error: 'not found' });
  const id = productId(match[1]);
  if (Number.isNaN(id)) return sendJson(res, 400, { error: 'please provide numeric product id' });
  const ratings = ratingsEnabled ? await fetchRatings(id, forwardHeaders(req.headers)) : undefined;
  sendJson(res, 200, {
    id: String(id),
    podname: instanceName(),
    clustername: clusterName,
    reviews: REVIEWS.map((review) =>
      ratingsEnabled ? { ...review, rating: ratingOf(review.reviewer, ratings) } : review,
    ),
  });
});
