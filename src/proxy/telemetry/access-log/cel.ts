// The subset of CEL (Common Expression Language) skiff evaluates for access log filters: what
// Istio's Telemetry `accessLogging[].filter.expression` examples use, on Envoy's attribute names
// (https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/advanced/attributes):
//
//   response.code >= 400                     request.headers['x-debug'] == 'true'
//   response.code == 503 || !(request.method == 'GET')
//   request.duration > duration('1s')        'x-user' in request.headers
//   request.url_path.startsWith('/api')      xds.cluster_name == 'BlackHoleCluster'
//
// Comparisons (== != < <= > >=), && || !, parentheses, `in` on header maps, the string methods
// startsWith/endsWith/contains, and literals (int, double, 'string', "string", true, false,
// duration('1.5s')). Anything else is rejected when the config is read, with the offset and what
// was expected. As in Envoy's CEL filter, an expression whose evaluation fails (a header that is
// absent) does not log.
import type { LogEntry } from './entry.js';

export class CelError extends Error {
  readonly code = 'ERR_CEL_SUBSET';
}

type Type = 'int' | 'double' | 'string' | 'bool' | 'duration' | 'map';
/** A value, or `undefined` for an evaluation error (absent header, no response). */
type Value = number | string | boolean | undefined;
interface Node {
  readonly type: Type;
  eval(e: LogEntry): Value;
}

/** Attributes: their CEL type and how to read them. Durations are in milliseconds. */
const ATTRIBUTES: Readonly<Record<string, { type: Type; get: (e: LogEntry) => Value }>> = {
  'response.code': { type: 'int', get: (e) => (e.responseCode ? e.responseCode : undefined) },
  'response.code_details': { type: 'string', get: (e) => e.responseCodeDetails },
  'response.flags_string': { type: 'string', get: (e) => e.responseFlags.join(',') },
  'response.size': { type: 'int', get: (e) => e.bytesSent },
  'response.grpc_status': {
    type: 'int',
    get: (e) => {
      const v = e.responseTrailer('grpc-status') ?? e.responseHeader('grpc-status');
      return v === undefined ? undefined : Number(v);
    },
  },
  'request.duration': { type: 'duration', get: (e) => e.durationMs },
  'request.size': { type: 'int', get: (e) => e.bytesReceived },
  'request.method': { type: 'string', get: (e) => e.requestHeader(':method') },
  'request.path': { type: 'string', get: (e) => e.requestHeader(':path') },
  'request.url_path': {
    type: 'string',
    get: (e) => e.requestHeader(':path')?.replace(/\?.*$/s, ''),
  },
  'request.host': { type: 'string', get: (e) => e.requestHeader(':authority') },
  'request.scheme': { type: 'string', get: (e) => e.requestHeader(':scheme') },
  'request.id': { type: 'string', get: (e) => e.requestHeader('x-request-id') },
  'request.useragent': { type: 'string', get: (e) => e.requestHeader('user-agent') },
  'request.referer': { type: 'string', get: (e) => e.requestHeader('referer') },
  'request.protocol': { type: 'string', get: (e) => e.protocol || undefined },
  'connection.requested_server_name': { type: 'string', get: (e) => e.requestedServerName },
  'source.address': {
    type: 'string',
    get: (e) =>
      e.downstreamRemote ? `${e.downstreamRemote.ip}:${e.downstreamRemote.port}` : undefined,
  },
  'source.port': { type: 'int', get: (e) => e.downstreamRemote?.port },
  'destination.address': {
    type: 'string',
    get: (e) =>
      e.downstreamLocal ? `${e.downstreamLocal.ip}:${e.downstreamLocal.port}` : undefined,
  },
  'destination.port': { type: 'int', get: (e) => e.downstreamLocal?.port },
  'upstream.address': {
    type: 'string',
    get: (e) => (e.upstreamHost ? `${e.upstreamHost.ip}:${e.upstreamHost.port}` : undefined),
  },
  'upstream.port': { type: 'int', get: (e) => e.upstreamHost?.port },
  'xds.cluster_name': { type: 'string', get: (e) => e.upstreamCluster || undefined },
  'xds.route_name': { type: 'string', get: (e) => e.routeName || undefined },
};

const MAPS: Readonly<Record<string, (e: LogEntry, key: string) => string | undefined>> = {
  'request.headers': (e, k) => e.requestHeader(k),
  'response.headers': (e, k) => e.responseHeader(k),
  'response.trailers': (e, k) => e.responseTrailer(k),
};

const HINTS: Readonly<Record<string, string>> = {
  duration: 'request.duration',
  'response.duration': 'request.duration',
  'response.status': 'response.code',
  'request.url': 'request.path',
};

type Token =
  | { kind: 'num'; value: number; int: boolean; at: number }
  | { kind: 'str'; value: string; at: number }
  | { kind: 'id'; value: string; at: number }
  | { kind: 'op'; value: string; at: number }
  | { kind: 'end'; at: number };

const OPS = ['&&', '||', '==', '!=', '<=', '>=', '<', '>', '!', '(', ')', '[', ']', '.', ','];

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] ?? '';
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (/[0-9]/.test(c)) {
      const m = /^\d+(\.\d+)?([eE][+-]?\d+)?/.exec(src.slice(i)) ?? [''];
      out.push({ kind: 'num', value: Number(m[0]), int: !/[.eE]/.test(m[0]), at });
      i += m[0].length;
      continue;
    }
    if (c === "'" || c === '"') {
      let s = '';
      i++;
      while (i < src.length && src[i] !== c) {
        if (src[i] === '\\' && i + 1 < src.length) i++;
        s += src[i++];
      }
      if (i >= src.length) throw new CelError(`unterminated string at offset ${at}`);
      i++;
      out.push({ kind: 'str', value: s, at });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i)) ?? [''];
      out.push({ kind: 'id', value: m[0], at });
      i += m[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new CelError(`unexpected "${c}" at offset ${at}`);
    out.push({ kind: 'op', value: op, at });
    i += op.length;
  }
  out.push({ kind: 'end', at: src.length });
  return out;
}

function durationMs(text: string): number {
  // CEL durations: a sequence of decimal numbers with units (h, m, s, ms, us, ns).
  const re = /(\d+(?:\.\d+)?)(h|ms|us|ns|m|s)/gy;
  let total = 0;
  let used = 0;
  const units: Record<string, number> = {
    h: 3_600_000,
    m: 60_000,
    s: 1000,
    ms: 1,
    us: 1e-3,
    ns: 1e-6,
  };
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * (units[m[2] ?? 's'] ?? 0);
    used = re.lastIndex;
  }
  if (!text || used !== text.length)
    throw new CelError(`invalid duration "${text}" (e.g. '1.5s', '100ms')`);
  return total;
}

class Parser {
  private i = 0;
  constructor(private readonly t: Token[]) {}

  private peek(): Token {
    return this.t[this.i] as Token;
  }
  private next(): Token {
    return this.t[this.i++] as Token;
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.value === v;
  }
  private expect(v: string): void {
    const t = this.next();
    if (t.kind !== 'op' || t.value !== v) throw new CelError(`expected "${v}" at offset ${t.at}`);
  }

  parse(): Node {
    const n = this.or();
    const t = this.peek();
    if (t.kind !== 'end') throw new CelError(`unexpected input at offset ${t.at}`);
    if (n.type !== 'bool') throw new CelError('the expression must be a condition (true or false)');
    return n;
  }

  private or(): Node {
    let left = this.and();
    while (this.isOp('||')) {
      this.next();
      const l = bool(left, '||');
      const r = bool(this.and(), '||');
      // CEL's || is commutative over errors: true wins, else an error stays an error.
      left = {
        type: 'bool',
        eval: (e) => {
          const a = l.eval(e);
          if (a === true) return true;
          const b = r.eval(e);
          return b === true ? true : a === undefined || b === undefined ? undefined : false;
        },
      };
    }
    return left;
  }

  private and(): Node {
    let left = this.unary();
    while (this.isOp('&&')) {
      this.next();
      const l = bool(left, '&&');
      const r = bool(this.unary(), '&&');
      left = {
        type: 'bool',
        eval: (e) => {
          const a = l.eval(e);
          if (a === false) return false;
          const b = r.eval(e);
          return b === false ? false : a === undefined || b === undefined ? undefined : true;
        },
      };
    }
    return left;
  }

  private unary(): Node {
    if (this.isOp('!')) {
      this.next();
      const inner = bool(this.unary(), '!');
      return {
        type: 'bool',
        eval: (e) => {
          const v = inner.eval(e);
          return v === undefined ? undefined : !v;
        },
      };
    }
    return this.comparison();
  }

  private comparison(): Node {
    const left = this.primary();
    const t = this.peek();
    if (t.kind === 'id' && t.value === 'in') {
      this.next();
      const map = this.mapName();
      if (left.type !== 'string')
        throw new CelError(`"in" needs a string on its left (offset ${t.at})`);
      const get = MAPS[map] as (e: LogEntry, k: string) => string | undefined;
      return {
        type: 'bool',
        eval: (e) => {
          const k = left.eval(e);
          return typeof k === 'string' ? get(e, k.toLowerCase()) !== undefined : undefined;
        },
      };
    }
    if (t.kind !== 'op' || !['==', '!=', '<', '<=', '>', '>='].includes(t.value)) return left;
    this.next();
    const right = this.primary();
    const numeric = (x: Type) => x === 'int' || x === 'double';
    if (left.type !== right.type && !(numeric(left.type) && numeric(right.type)))
      throw new CelError(
        `cannot compare ${left.type} with ${right.type} at offset ${t.at}` +
          (left.type === 'duration' || right.type === 'duration'
            ? ` (write durations as duration('1s'))`
            : ''),
      );
    if (left.type === 'bool' && !['==', '!='].includes(t.value))
      throw new CelError(`booleans compare only with == and != (offset ${t.at})`);
    const op = t.value;
    return {
      type: 'bool',
      eval: (e) => {
        const a = left.eval(e);
        const b = right.eval(e);
        if (a === undefined || b === undefined) return undefined;
        switch (op) {
          case '==':
            return a === b;
          case '!=':
            return a !== b;
          case '<':
            return a < b;
          case '<=':
            return a <= b;
          case '>':
            return a > b;
          default:
            return a >= b;
        }
      },
    };
  }

  private mapName(): string {
    const start = this.peek();
    const path = this.dotted();
    if (!(path in MAPS))
      throw new CelError(
        `expected one of ${Object.keys(MAPS).join(', ')} at offset ${start.at} (got "${path}")`,
      );
    return path;
  }

  /** ident(.ident)* — stops before a method call `.name(`. */
  private dotted(): string {
    const t = this.next();
    if (t.kind !== 'id') throw new CelError(`expected a name at offset ${t.at}`);
    let path = t.value;
    while (this.isOp('.')) {
      const name = this.t[this.i + 1];
      const after = this.t[this.i + 2];
      if (name?.kind !== 'id')
        throw new CelError(`expected a name after "." at offset ${name?.at}`);
      if (after?.kind === 'op' && after.value === '(') break;
      this.i += 2;
      path += `.${name.value}`;
    }
    return path;
  }

  private primary(): Node {
    const t = this.peek();
    let node: Node;
    if (t.kind === 'op' && t.value === '(') {
      this.next();
      node = this.or();
      this.expect(')');
    } else if (t.kind === 'num') {
      this.next();
      const v = t.value;
      node = { type: t.int ? 'int' : 'double', eval: () => v };
    } else if (t.kind === 'str') {
      this.next();
      const v = t.value;
      node = { type: 'string', eval: () => v };
    } else if (t.kind === 'id' && (t.value === 'true' || t.value === 'false')) {
      this.next();
      const v = t.value === 'true';
      node = { type: 'bool', eval: () => v };
    } else if (t.kind === 'id' && t.value === 'duration' && this.t[this.i + 1]?.kind === 'op') {
      this.next();
      this.expect('(');
      const s = this.next();
      if (s.kind !== 'str')
        throw new CelError(`duration() takes a string, e.g. duration('1s') (offset ${s.at})`);
      this.expect(')');
      const v = durationMs(s.value);
      node = { type: 'duration', eval: () => v };
    } else if (t.kind === 'id') {
      node = this.attribute();
    } else {
      throw new CelError(
        t.kind === 'end'
          ? 'the expression ends too early'
          : `unexpected "${t.value}" at offset ${t.at}`,
      );
    }
    return this.methods(node);
  }

  private attribute(): Node {
    const start = this.peek();
    const path = this.dotted();
    if (path in MAPS) {
      this.expect('[');
      const k = this.next();
      if (k.kind !== 'str')
        throw new CelError(`a header name in quotes is expected at offset ${k.at}`);
      this.expect(']');
      const get = MAPS[path] as (e: LogEntry, k: string) => string | undefined;
      const key = k.value.toLowerCase();
      return { type: 'string', eval: (e) => get(e, key) };
    }
    const attr = ATTRIBUTES[path];
    if (!attr) {
      const hint = HINTS[path];
      throw new CelError(
        `unknown attribute "${path}" at offset ${start.at}` +
          (hint ? ` (did you mean ${hint}?)` : ''),
      );
    }
    const get = attr.get;
    return { type: attr.type, eval: get };
  }

  /** `.startsWith('x')`, `.endsWith('x')`, `.contains('x')` on strings. */
  private methods(node: Node): Node {
    let n = node;
    while (this.isOp('.')) {
      this.next();
      const m = this.next();
      if (m.kind !== 'id' || !['startsWith', 'endsWith', 'contains'].includes(m.value))
        throw new CelError(
          `only startsWith, endsWith and contains may follow "." (offset ${m.at})`,
        );
      if (n.type !== 'string')
        throw new CelError(`${m.value}() applies to strings (offset ${m.at})`);
      this.expect('(');
      const arg = this.primary();
      if (arg.type !== 'string') throw new CelError(`${m.value}() takes a string (offset ${m.at})`);
      this.expect(')');
      const target = n;
      const method = m.value;
      n = {
        type: 'bool',
        eval: (e) => {
          const s = target.eval(e);
          const a = arg.eval(e);
          if (typeof s !== 'string' || typeof a !== 'string') return undefined;
          return method === 'startsWith'
            ? s.startsWith(a)
            : method === 'endsWith'
              ? s.endsWith(a)
              : s.includes(a);
        },
      };
    }
    return n;
  }
}

function bool(n: Node, op: string): Node {
  if (n.type !== 'bool')
    throw new CelError(`"${op}" needs conditions on both sides (got ${n.type})`);
  return n;
}

/** Compiles an expression; throws CelError with what is wrong and where. */
export function compileCel(expression: string): (e: LogEntry) => boolean {
  if (!expression.trim()) throw new CelError('the expression is empty');
  const node = new Parser(tokenize(expression)).parse();
  // An evaluation error does not log, as Envoy's CEL filter treats it.
  return (e) => node.eval(e) === true;
}

/** A validation problem for an expression, or undefined when skiff can evaluate it. */
export function celProblem(expression: string): string | undefined {
  try {
    compileCel(expression);
    return undefined;
  } catch (e) {
    if (e instanceof CelError) return e.message;
    throw e;
  }
}
