// Headers as filters and route header mutations see them, over the two forms the proxy writes:
// the router's flat [name, value, name, value, ...] list (as undici and node:http take it) and a
// local reply's header object. Names compare case-insensitively (RFC 9110 §5.1).

export interface HeaderMap {
  /** The first value of a header, or undefined. */
  get(name: string): string | undefined;
  /** Replaces every value of a header with one. */
  set(name: string, value: string): void;
  /** Adds another value, keeping those already there. */
  add(name: string, value: string): void;
  remove(name: string): void;
}

/** Over a flat list; `name` arguments must be lower case, list entries may be any case. */
export class FlatHeaderMap implements HeaderMap {
  constructor(readonly list: string[]) {}

  private indexOf(name: string, from = 0): number {
    const l = this.list;
    for (let i = from; i < l.length; i += 2) {
      const n = l[i] as string;
      if (n.length === name.length && n.toLowerCase() === name) return i;
    }
    return -1;
  }

  get(name: string): string | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.list[i + 1];
  }

  set(name: string, value: string): void {
    const i = this.indexOf(name);
    if (i < 0) {
      this.list.push(name, value);
      return;
    }
    this.list[i + 1] = value;
    this.removeFrom(name, i + 2);
  }

  add(name: string, value: string): void {
    this.list.push(name, value);
  }

  remove(name: string): void {
    this.removeFrom(name, 0);
  }

  private removeFrom(name: string, from: number): void {
    for (let i = this.indexOf(name, from); i >= 0; i = this.indexOf(name, i))
      this.list.splice(i, 2);
  }
}

type HeaderObject = Record<string, string | number | string[] | undefined>;

/** Over a header object whose keys are lower case (a local reply's). */
export class ObjectHeaderMap implements HeaderMap {
  constructor(readonly object: HeaderObject) {}

  get(name: string): string | undefined {
    const v = this.object[name];
    if (v === undefined) return undefined;
    return Array.isArray(v) ? v[0] : String(v);
  }

  set(name: string, value: string): void {
    this.object[name] = value;
  }

  add(name: string, value: string): void {
    const v = this.object[name];
    if (v === undefined) this.object[name] = value;
    else this.object[name] = [...(Array.isArray(v) ? v : [String(v)]), value];
  }

  remove(name: string): void {
    delete this.object[name];
  }
}

/** A request's headers as Node parsed them (lower-case keys), read-only. */
export function requestHeader(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  name: string,
): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}
