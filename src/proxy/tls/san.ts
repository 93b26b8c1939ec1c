// A certificate's subject alt names from Node's text form (`DNS:a, URI:spiffe://x, IP Address:1.2.3.4`),
// where Node quotes an entry holding a comma or a quote as a JSON string (`URI:"a,b"`), so a
// crafted SAN cannot pass for two.
export interface SubjectAltName {
  /** DNS, URI, IP, EMAIL, or Node's own name for another type. */
  readonly type: string;
  readonly value: string;
}

const ENTRY = /(?:^|,\s*)([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;

export function parseSubjectAltNames(text: string | undefined): SubjectAltName[] {
  if (!text) return [];
  const out: SubjectAltName[] = [];
  for (const m of text.matchAll(ENTRY)) {
    const raw = m[1] ?? '';
    const type = raw === 'IP Address' ? 'IP' : raw === 'email' ? 'EMAIL' : raw;
    const v = m[2] ?? '';
    let value = v;
    if (v.startsWith('"')) {
      try {
        value = JSON.parse(v) as string;
      } catch {
        continue; // not Node's quoting: no SAN we can trust
      }
    }
    out.push({ type, value });
  }
  return out;
}
