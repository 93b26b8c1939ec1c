// envoy.type.v3.FractionalPercent and core.v3.RuntimeFractionalPercent compiled once, sampled
// per request as Envoy's runtime featureEnabled does: a random integer below the denominator
// is below the numerator (skiff has no runtime layer, so runtime keys are not read).
import { ConfigError } from '../../config-error.js';

type Obj = Record<string, unknown>;

export interface Fraction {
  readonly numerator: number;
  readonly denominator: number;
}

const DENOMINATORS: Readonly<Record<string, number>> = {
  HUNDRED: 100,
  TEN_THOUSAND: 10_000,
  MILLION: 1_000_000,
};

export const NEVER: Fraction = Object.freeze({ numerator: 0, denominator: 100 });
export const ALWAYS: Fraction = Object.freeze({ numerator: 100, denominator: 100 });

/** FractionalPercent; an absent one is `fallback` (Envoy: numerator 0, i.e. never). */
export function compileFraction(p: unknown, field: string, fallback: Fraction = NEVER): Fraction {
  if (p === undefined || p === null) return fallback;
  if (typeof p !== 'object') throw new ConfigError(field, 'expected a FractionalPercent');
  const o = p as Obj;
  const numerator = Number(o['numerator'] ?? 0);
  const denomName = String(o['denominator'] ?? 'HUNDRED');
  const denominator = DENOMINATORS[denomName];
  if (denominator === undefined)
    throw new ConfigError(`${field}.denominator`, `unknown denominator ${denomName}`);
  if (!Number.isInteger(numerator) || numerator < 0)
    throw new ConfigError(`${field}.numerator`, 'must be a non-negative integer');
  return Object.freeze({ numerator, denominator });
}

/** RuntimeFractionalPercent: its default_value (an absent one: `fallback`). */
export function compileRuntimeFraction(p: unknown, field: string, fallback: Fraction): Fraction {
  if (p === undefined || p === null) return fallback;
  return compileFraction((p as Obj)['default_value'], `${field}.default_value`, NEVER);
}

/** True for the sampled share of calls; constant fractions cost no random number. */
export function sampled(f: Fraction): boolean {
  if (f.numerator >= f.denominator) return true;
  if (f.numerator === 0) return false;
  return Math.floor(Math.random() * f.denominator) < f.numerator;
}
