import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PathNormalization } from '../../config/mesh-config.js';
import { hcmPathFields } from '../../control-plane/generate/path-normalization.js';
import type { AuthzRequest } from '../authz/matcher.js';
import { compileRbac, evaluate } from '../authz/matcher.js';
import type { EscapedSlashesAction } from '../filters/network/http_connection_manager/path.js';
import { normalizeRequestPath } from '../filters/network/http_connection_manager/path.js';
import {
  authorizationPaths,
  decideForEveryPath,
  pathForAuthorization,
  withViewPath,
} from './path-for-authz.js';

test('pathForAuthorization: what a lax app server makes of a forwarded path', () => {
  const cases: [string, string][] = [
    ['/admin', '/admin'],
    ['/admin;x', '/admin'],
    ['/admin;jsessionid=1/users', '/admin/users'],
    ['/public/..;/admin', '/admin'],
    ['/%2Fadmin', '/admin'],
    ['/admin%2F', '/admin/'],
    ['/%5Cadmin', '/admin'],
    ['//admin', '/admin'],
    ['/public/..%2Fadmin', '/admin'],
    ['/a//..', '/'],
    ['/ADMIN', '/ADMIN'],
    ['/administrator', '/administrator'],
  ];
  for (const [given, want] of cases) assert.equal(pathForAuthorization(given), want, given);
});

test('authorizationPaths: one reading when the path is already plain', () => {
  assert.deepEqual(authorizationPaths('/public'), ['/public']);
  assert.deepEqual(authorizationPaths('/admin;x'), ['/admin;x', '/admin']);
});

test('decideForEveryPath: a DENY on any reading denies, an ALLOW needs every reading', () => {
  const denyAdmin = (p: string) => ({ allowed: p !== '/admin', path: p });
  assert.deepEqual(decideForEveryPath('/admin;x', denyAdmin), { allowed: false, path: '/admin' });
  assert.deepEqual(decideForEveryPath('/public', denyAdmin), { allowed: true, path: '/public' });
  // ALLOW /public/*: `/x/..;/public/y` is /public/y to Tomcat but not to a strict app.
  const allowPublic = (p: string) => ({ allowed: p.startsWith('/public/') });
  assert.equal(decideForEveryPath('/x/..;/public/y', allowPublic).allowed, false);
  assert.equal(decideForEveryPath('/public/y', allowPublic).allowed, true);
});

test('withViewPath: the other fields, getters and TS-private state still come from the request', () => {
  class Req {
    constructor(private readonly ip: string) {}
    get remote(): string {
      return this.ip;
    }
    readonly view = { path: '/admin;x', method: 'GET' };
  }
  const r = new Req('10.0.0.1');
  const w = withViewPath(r, '/admin');
  assert.equal(w.view.path, '/admin');
  assert.equal(w.view.method, 'GET');
  assert.equal(w.remote, '10.0.0.1');
  assert.equal(r.view.path, '/admin;x', 'the original is untouched');
  assert.equal(withViewPath(r, '/admin;x'), r);
});

// The wiring the RBAC filter needs, end to end in memory: the connection manager's path under
// each pathNormalization option, then Envoy's RBAC engine over every reading of it. Whatever a
// lax app would serve as /admin must be denied; Envoy's single reading lets some through.
test('a DENY on /admin and /admin/* holds for every trick under every option', () => {
  const lax = (url: string): string => {
    let p = url;
    try {
      p = decodeURIComponent(p);
    } catch {
      // keep it as it is
    }
    p = p
      .replace(/\\/g, '/')
      .split('/')
      .map((s) => s.split(';')[0])
      .join('/');
    const out: string[] = [];
    for (const s of p.split('/')) {
      if (s === '' || s === '.') continue;
      if (s === '..') out.pop();
      else out.push(s);
    }
    return '/' + out.join('/');
  };
  const deny = compileRbac(
    {
      action: 'DENY',
      policies: {
        'ns[default]-policy[deny-admin]-rule[0]': {
          permissions: [
            {
              or_rules: {
                rules: [
                  { url_path: { path: { exact: '/admin' } } },
                  { url_path: { path: { prefix: '/admin/' } } },
                ],
              },
            },
          ],
          principals: [{ any: true }],
        },
      },
    },
    'rules',
  );
  const request = (path: string): AuthzRequest => ({
    directRemoteIp: '127.0.0.1',
    remoteIp: '127.0.0.1',
    destinationIp: '127.0.0.1',
    destinationPort: 9080,
    peerPrincipal: undefined,
    sni: '',
    view: { method: 'GET', scheme: 'http', authority: 'backend', path, query: '', headers: {} },
    requestAuth: undefined,
  });
  const tricks = [
    '/admin',
    '/admin/',
    '/%61dmin',
    '/admin%2F',
    '/%2Fadmin',
    '/%2e/admin',
    '/admin/.',
    '//admin',
    '///admin//users',
    '/./admin',
    '/foo/../admin',
    '/foo/..%2Fadmin',
    '/foo%2F..%2Fadmin',
    '/admin/../admin',
    '\\admin',
    '/%5Cadmin',
    '/foo\\..\\admin',
    '/admin;x',
    '/admin;jsessionid=1/users',
    '/foo/..;/admin',
    '/%2Fadmin;x/..%2F',
  ];
  const options: PathNormalization[] = [
    'NONE',
    'BASE',
    'MERGE_SLASHES',
    'DECODE_AND_MERGE_SLASHES',
  ];
  const envoyAlone: string[] = [];
  for (const option of options) {
    const f = hcmPathFields(option);
    const o = {
      normalizePath: f['normalize_path'] === true,
      mergeSlashes: f['merge_slashes'] === true,
      escapedSlashes: f['path_with_escaped_slashes_action'] as EscapedSlashesAction,
    };
    for (const trick of tricks) {
      const n = normalizeRequestPath(trick, o);
      if (n.kind !== 'ok') continue; // 400 or a redirect: the app never sees it
      if (lax(n.path) !== '/admin' && !lax(n.path).startsWith('/admin/')) continue;
      const r = request(n.path);
      if (evaluate(deny, r).allowed) envoyAlone.push(`${option} ${trick}`);
      const res = decideForEveryPath(n.path, (p) => evaluate(deny, withViewPath(r, p)));
      assert.equal(res.allowed, false, `${option}: ${trick} (forwarded as ${n.path})`);
    }
  }
  // Envoy's one reading is not enough against a lax app (CVE-2021-31920, `;` parameters).
  assert.ok(envoyAlone.includes('BASE //admin') && envoyAlone.includes('BASE /admin;x'));
  // ... and legit paths stay allowed.
  for (const p of ['/public', '/administrator', '/admin.html'])
    assert.equal(
      decideForEveryPath(p, (q) => evaluate(deny, withViewPath(request(p), q))).allowed,
      true,
      p,
    );
});
