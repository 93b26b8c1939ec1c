// Cheaper ways to answer a full-match regex for the shapes route configs are full of: a plain
// literal (`/api/v1`), a literal then `.*` (`/static/.*`, Istio's `/.*`), or a literal prefix
// that every match must start with (`/api/v[0-9]+/.*`), checked before the RegExp runs. The
// plan is read off the pattern conservatively: anything it does not understand leaves the
// RegExp to answer alone, so a fast path never answers differently from the RegExp.
import type { Predicate } from './matchers.js';

export type RegexPlan =
  /** The pattern is this literal: equality. */
  | { readonly kind: 'exact'; readonly literal: string }
  /** The literal, then `.*`: a prefix, and (without the s flag) no line terminator after it. */
  | { readonly kind: 'prefix-any'; readonly prefix: string; readonly dotAll: boolean }
  /** Every match starts with the literal: a cheap refusal before the RegExp. */
  | { readonly kind: 'prefix'; readonly prefix: string }
  | { readonly kind: 'regex' };

/** Characters with a meaning in a JavaScript pattern outside a character class. */
const SYNTAX = '^$.|?*+()[]{}\\';
const QUANTIFIERS = '?*+{';

/** True when `source` has a `|` outside every group and character class. */
function topLevelAlternation(source: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') i++;
    else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
      // JavaScript: `[]` and `[^]` end at their first `]`, which the loop sees next.
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return true;
  }
  return false;
}

/**
 * The plan for the full match of `source` (JavaScript syntax, as compileRegex builds it) with
 * `flags`. Only `s` is understood; any other flag (notably `i`) leaves the RegExp alone.
 */
export function planRegex(source: string, flags: string): RegexPlan {
  if ([...flags].some((f) => f !== 's')) return { kind: 'regex' };
  if (topLevelAlternation(source)) return { kind: 'regex' };
  let i = 0;
  // A leading `^` asserts position 0, which the full match asserts anyway.
  if (source[0] === '^') i = 1;
  let literal = '';
  while (i < source.length) {
    const c = source[i]!;
    let ch: string;
    let next: number;
    if (c === '\\') {
      const n = source[i + 1];
      // `\d`, `\b`, `\1`, `\x41`, `\u0041`, `\cJ`...: not a plain character; stop. Other escapes
      // (`\.`, `\/`, `\-`) are the character itself.
      if (n === undefined || /[A-Za-z0-9]/.test(n)) break;
      ch = n;
      next = i + 2;
    } else if (SYNTAX.includes(c)) {
      break;
    } else {
      ch = c;
      next = i + 1;
    }
    // A quantified character may be absent or repeated: the literal ends before it.
    const q = source[next];
    if (q !== undefined && QUANTIFIERS.includes(q)) break;
    literal += ch;
    i = next;
  }
  let rest = source.slice(i);
  // A trailing `$` asserts the end, which the full match asserts anyway (it is not escaped:
  // an escaped one was read into the literal, and the literal stops at any other backslash).
  if (rest.endsWith('$') && (rest === '$' || rest === '.*$')) rest = rest.slice(0, -1);
  if (rest === '') return { kind: 'exact', literal };
  if (rest === '.*') return { kind: 'prefix-any', prefix: literal, dotAll: flags.includes('s') };
  if (literal) return { kind: 'prefix', prefix: literal };
  return { kind: 'regex' };
}

/** What every string the plan's regex matches starts with ('' when nothing is known). */
export function planPrefix(plan: RegexPlan): string {
  switch (plan.kind) {
    case 'exact':
      return plan.literal;
    case 'prefix-any':
    case 'prefix':
      return plan.prefix;
    case 'regex':
      return '';
  }
}

/** True when `v` from `from` on holds no character that `.` refuses without the s flag. */
function noLineTerminator(v: string, from: number): boolean {
  for (let i = from; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 10 || c === 13 || c === 0x2028 || c === 0x2029) return false;
  }
  return true;
}

/** The predicate for the plan: the same answers as `re.test`, where `re` is the full match. */
export function planPredicate(plan: RegexPlan, re: RegExp): Predicate<string> {
  switch (plan.kind) {
    case 'exact': {
      const want = plan.literal;
      return (v) => v === want;
    }
    case 'prefix-any': {
      const { prefix, dotAll } = plan;
      if (dotAll) return (v) => v.startsWith(prefix);
      return (v) => v.startsWith(prefix) && noLineTerminator(v, prefix.length);
    }
    case 'prefix': {
      const prefix = plan.prefix;
      return (v) => v.startsWith(prefix) && re.test(v);
    }
    case 'regex':
      return (v) => re.test(v);
  }
}
