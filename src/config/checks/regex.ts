// Regexes in Istio config are RE2 (https://github.com/google/re2/wiki/Syntax): this rejects what
// RE2 rejects but JavaScript accepts (lookaround, backreferences, unknown escapes), and anything
// that does not compile at all. RE2-only syntax ((?i), (?P<n>), \A, \z, \Q..\E, \pL, \x{..}) is
// accepted: it is rewritten to a JavaScript equivalent only to let JavaScript check the rest.

const MAX_LENGTH = 1024; // istiod's limit (Envoy's RE2 program size, approximated by length)
const MAX_REPEAT = 1000; // RE2's largest {n,m}
const RE2_DOC = "Istio's regexes are RE2: https://github.com/google/re2/wiki/Syntax";
// Escapes Go's regexp/syntax (what istiod compiles with) knows, outside a character class.
const ESCAPES = new Set([...'afnrtvdDsSwWbBAzxpPQE0']);
const CLASS_ESCAPES = new Set([...'afnrtvdDsSwWxpP0']);
const POSIX_CLASSES = new Set(
  'alnum alpha ascii blank cntrl digit graph lower print punct space upper word xdigit'.split(' '),
);

const unsupported = (what: string): string =>
  `invalid regex: ${what} is not supported (${RE2_DOC})`;

/** Why `pattern` is not a valid RE2 regex, or undefined when it is. */
export function regexProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_LENGTH) return `invalid regex: longer than ${MAX_LENGTH} characters`;
  const scan = translate(pattern);
  if (typeof scan === 'object') return scan.problem;
  try {
    new RegExp(scan);
  } catch (err) {
    const why = String((err as Error).message).replace(
      /^Invalid regular expression: \/.*\/[a-z]*: /s,
      '',
    );
    return `invalid regex: ${why}`;
  }
  return undefined;
}

/** Rewrites RE2-only syntax for JavaScript, or reports RE2-incompatible syntax. */
function translate(p: string): string | { problem: string } {
  let out = '';
  let inClass = false;
  let i = 0;
  while (i < p.length) {
    const c = p[i] ?? '';
    if (c === '\\') {
      const e = p[i + 1];
      if (e === undefined) return { problem: 'invalid regex: trailing backslash' };
      if (e === 'Q') {
        // \Q...\E: literal text.
        const end = p.indexOf('\\E', i + 2);
        const literal = p.slice(i + 2, end < 0 ? p.length : end);
        out += literal.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
        i = end < 0 ? p.length : end + 2;
        continue;
      }
      if (/[1-9]/.test(e)) {
        // Go reads \1..\7 followed by an octal digit as an octal escape; alone, a backreference.
        if (/[1-7]/.test(e) && /[0-7]/.test(p[i + 2] ?? '')) {
          out +=
            '\\x' +
            parseInt(p.slice(i + 1, i + 3), 8)
              .toString(16)
              .padStart(2, '0');
          i += 3;
          continue;
        }
        return { problem: unsupported(`backreference \\${e}`) };
      }
      if (e === 'k' && p[i + 2] === '<')
        return { problem: unsupported('named backreference \\k<...>') };
      if (/[A-Za-z0-9]/.test(e) && !(inClass ? CLASS_ESCAPES : ESCAPES).has(e)) {
        return { problem: `invalid regex: unknown escape \\${e} (${RE2_DOC})` };
      }
      if (e === 'A') out += '^';
      else if (e === 'z') out += '$';
      else if (e === 'p' || e === 'P') {
        const m = /^\\[pP](\{\^?[A-Za-z_]+\}|[A-Za-z])/.exec(p.slice(i));
        if (!m) return { problem: 'invalid regex: bad Unicode class after \\p' };
        out += inClass ? 'a' : '\\w';
        i += m[0].length;
        continue;
      } else if (e === 'x' && p[i + 2] === '{') {
        const m = /^\\x\{([0-9A-Fa-f]{1,6})\}/.exec(p.slice(i));
        if (!m || parseInt(m[1] ?? '', 16) > 0x10ffff)
          return { problem: 'invalid regex: bad \\x{...} escape' };
        const code = parseInt(m[1] ?? '', 16);
        out += code <= 0xffff ? `\\u${code.toString(16).padStart(4, '0')}` : 'a';
        i += m[0].length;
        continue;
      } else out += c + e;
      i += 2;
      continue;
    }
    if (inClass) {
      if (c === '[' && p[i + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(p.slice(i));
        if (m) {
          if (!POSIX_CLASSES.has(m[2] ?? ''))
            return { problem: `invalid regex: unknown class [:${m[2]}:]` };
          out += 'a';
          i += m[0].length;
          continue;
        }
      }
      if (c === ']') inClass = false;
      out += c;
      i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      i++;
      // A `]` right after `[` or `[^` is a literal in RE2.
      if (p[i] === '^') out += p[i++];
      if (p[i] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && p[i + 1] === '?') {
      const rest = p.slice(i + 2);
      if (rest.startsWith('=') || rest.startsWith('!'))
        return { problem: unsupported(`lookahead (?${rest[0]}...)`) };
      if (rest.startsWith('<=') || rest.startsWith('<!')) {
        return { problem: unsupported(`lookbehind (?${rest.slice(0, 2)}...)`) };
      }
      if (rest.startsWith('P=')) return { problem: unsupported('named backreference (?P=name)') };
      const named = /^P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
      if (named) {
        out += `(?<${named[1]}>`;
        i += 2 + named[0].length;
        continue;
      }
      const flags = /^([imsU]*(?:-[imsU]*)?)(:|\))/.exec(rest);
      if (flags && rest[0] !== ':') {
        // Inline flags change matching, not syntax; drop them for the syntax check.
        out += flags[2] === ':' ? '(?:' : '';
        i += 2 + flags[0].length;
        continue;
      }
      if (!rest.startsWith(':'))
        return { problem: unsupported(`the group syntax (?${rest.slice(0, 1)}`) };
    }
    if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i));
      if (m && (Number(m[1]) > MAX_REPEAT || Number(m[3] || 0) > MAX_REPEAT)) {
        return { problem: `invalid regex: repeat count ${m[0]} is larger than ${MAX_REPEAT}` };
      }
    }
    out += c;
    i++;
  }
  return out;
}
