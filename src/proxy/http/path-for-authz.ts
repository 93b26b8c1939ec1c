// The paths authorization checks a request against: the path the connection manager forwards,
// and the path a lax application server would make of it. Envoy matches only the first; skiff
// matches both and lets a request through only when every reading of its path is allowed, so a
// DENY on /admin cannot be dodged with `;` parameters, escaped slashes or `//` that the app undoes.
import {
  canonicalPath,
  mergeSlashes,
  removeDotSegments,
  unescapeSlashes,
} from '../filters/network/http_connection_manager/path.js';

/** Drops RFC 3986 §3.3 path parameters (`;x` to the end of a segment), as Tomcat and Spring do. */
function stripParams(path: string): string {
  if (!path.includes(';')) return path;
  return path
    .split('/')
    .map((s) => {
      const at = s.indexOf(';');
      return at < 0 ? s : s.slice(0, at);
    })
    .join('/');
}

/**
 * The path as the most forgiving app server reads it: %2F and %5C decoded, backslashes as
 * slashes, unreserved escapes decoded, `;` parameters dropped, slashes merged, dot segments
 * resolved. Case is kept: Envoy and Istio match paths case-sensitively, and so do the apps the
 * mesh fronts (an app that folds case needs a policy that says so, e.g. `/ADMIN` too).
 */
export function pathForAuthorization(path: string): string {
  const flat = mergeSlashes(stripParams(unescapeSlashes(path).replace(/\\/g, '/')));
  // An invalid path never got this far (the connection manager answers it 400); be total anyway.
  return canonicalPath(flat) ?? removeDotSegments(flat);
}

/** The distinct readings of a forwarded path: as it is, and as pathForAuthorization reads it. */
export function authorizationPaths(path: string): readonly string[] {
  const lax = pathForAuthorization(path);
  return lax === path ? [path] : [path, lax];
}

/**
 * Runs `decide` once per reading of `path` (or of the readings authorizationPaths already gave)
 * and returns the first that is not allowed (else the last): a DENY rule that matches any
 * reading denies, an ALLOW needs every reading to match.
 */
export function decideForEveryPath<T extends { readonly allowed: boolean }>(
  path: string | readonly string[],
  decide: (path: string) => T,
): T {
  let last: T | undefined;
  for (const p of typeof path === 'string' ? authorizationPaths(path) : path) {
    last = decide(p);
    if (!last.allowed) return last;
  }
  return last as T;
}

/** `r` with its request view's path replaced (the other fields still come from `r`). */
export function withViewPath<R extends { readonly view: { readonly path: string } | undefined }>(
  r: R,
  path: string,
): R {
  const view = r.view;
  if (view === undefined || view.path === path) return r;
  const replaced = { ...view, path };
  return Object.create(r, { view: { get: () => replaced } }) as R;
}
