// HTML of productpage: the index, the sign-in form and the product page itself.

export interface Product {
  id: number;
  title: string;
  /** Trusted markup, written here; everything from other services is escaped. */
  descriptionHtml: string;
}

/** What productpage learnt from a backend: its JSON, or the text to show instead. */
export type Fetched = { ok: true; json: unknown } | { ok: false; error: string };

export interface ProductPageModel {
  product: Product;
  user: string | undefined;
  details: Fetched;
  reviews: Fetched;
}

export const STYLESHEET = `body { font-family: sans-serif; margin: 0; }
nav { background: #222; color: #ddd; padding: 0.6em 1em; display: flex; gap: 1em; }
nav a { color: #fff; } nav .title { flex: 1; font-weight: bold; }
main { padding: 1em 2em; } .columns { display: flex; gap: 3em; flex-wrap: wrap; }
blockquote { border-left: 4px solid #ccc; margin: 1em 0; padding-left: 1em; }
.error { color: #a00; } dt { font-weight: bold; } .glyphicon { font-size: 1.3em; }
`;

export function escapeHtml(value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function layout(title: string, user: string | undefined, body: string): string {
  const who = user
    ? `<span class="user">Signed in as ${escapeHtml(user)}</span> <a href="/logout">Sign out</a>`
    : `<a href="/login">Sign in</a>`;
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/static/bookinfo.css">
</head>
<body>
<nav><span class="title">BookInfo Sample</span>${who}</nav>
<main>
${body}
</main>
</body>
</html>
`;
}

export function indexPage(): string {
  return layout(
    'Simple Bookstore App',
    undefined,
    `<h2>Hello! This is a simple bookstore application consisting of four services.</h2>
<p>productpage calls details and reviews; reviews v2 and v3 call ratings.</p>
<ul>
<li><a href="/productpage">The product page</a></li>
<li><a href="/api/v1/products">The products API</a> (JSON)</li>
</ul>`,
  );
}

export function loginPage(user: string | undefined, problem?: string): string {
  const note = problem ? `<p class="error">${escapeHtml(problem)}</p>` : '';
  return layout(
    'Sign in',
    user,
    `<h3>Please sign in</h3>${note}
<form method="post" action="/login">
<p><label>User name <input type="text" name="username" autofocus></label></p>
<p><label>Password <input type="password" name="passwd"></label> (any)</p>
<p><button type="submit">Sign in</button></p>
</form>`,
  );
}

export function productPage(model: ProductPageModel): string {
  const { product } = model;
  return layout(
    'Simple Bookstore App',
    model.user,
    `<h1>${escapeHtml(product.title)}</h1>
<p>Summary: ${product.descriptionHtml}</p>
<div class="columns">
<section class="details">
<h4>Book Details</h4>
${detailsHtml(model.details)}
</section>
<section class="reviews">
<h4>Book Reviews</h4>
${reviewsHtml(model.reviews)}
</section>
</div>`,
  );
}

const DETAIL_FIELDS: Array<[string, string]> = [
  ['Type', 'type'],
  ['Pages', 'pages'],
  ['Publisher', 'publisher'],
  ['Language', 'language'],
  ['ISBN-10', 'ISBN-10'],
  ['ISBN-13', 'ISBN-13'],
];

function detailsHtml(details: Fetched): string {
  if (!details.ok) return `<p class="error">${escapeHtml(details.error)}</p>`;
  const json = asRecord(details.json);
  const rows = DETAIL_FIELDS.map(
    ([label, key]) => `<dt>${label}:</dt><dd>${escapeHtml(json[key] ?? '')}</dd>`,
  );
  return `<dl>\n${rows.join('\n')}\n</dl>`;
}

function reviewsHtml(reviews: Fetched): string {
  if (!reviews.ok) return `<p class="error">${escapeHtml(reviews.error)}</p>`;
  const json = asRecord(reviews.json);
  const list = Array.isArray(json.reviews) ? json.reviews.map(asRecord) : [];
  const quotes = list.map(
    (review) => `<blockquote>
<p>${escapeHtml(review.text ?? '')}</p>
<small>${escapeHtml(review.reviewer ?? '')}</small>
${ratingHtml(asRecord(review.rating))}
</blockquote>`,
  );
  // As the original: name the instance that answered, and its cluster when the app knows it.
  const cluster =
    json.clustername && json.clustername !== 'null' ? ` on ${escapeHtml(json.clustername)}` : '';
  const servedBy = `<p class="served-by">Reviews served by: ${escapeHtml(json.podname ?? '')}${cluster}</p>`;
  return `${quotes.join('\n')}\n${servedBy}`;
}

/** Filled then empty stars in the rating's colour; the error text when ratings failed; nothing
 *  when reviews sent no rating (v1). */
function ratingHtml(rating: Record<string, unknown>): string {
  if (typeof rating.stars === 'number') {
    const filled = Math.max(0, Math.min(5, Math.round(rating.stars)));
    const stars =
      '<span class="glyphicon glyphicon-star">&#9733;</span>'.repeat(filled) +
      '<span class="glyphicon glyphicon-star-empty">&#9734;</span>'.repeat(5 - filled);
    return `<font color="${escapeHtml(rating.color ?? 'black')}">${stars}</font>`;
  }
  if (rating.error !== undefined) return `<p><i>${escapeHtml(rating.error)}</i></p>`;
  return '';
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}
