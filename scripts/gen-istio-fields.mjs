// Generates src/config/generated/istio-fields.json: the known fields of every Istio kind's spec,
// read from @kubernetes-models/istio's .d.ts files with the TypeScript compiler API. The package's
// validators check types but accept unknown fields; skiff rejects those with this table.
//
// Table format (read by src/config/fields.ts):
//   nodes[0] = "s"  a scalar (string, number, boolean, enum)
//   nodes[1] = "*"  free-form: anything goes below (e.g. EnvoyFilter patch values)
//   { "p": { key: node }, "m": node, "o": [[key, ...], ...] }  an object: its properties, the
//        node of its values when it is a map (index signature), and its oneOf groups (at most one
//        key of each group may be set; from the CRD's `oneOf`, written as Exclude<> in the .d.ts)
//   { "a": node }  an array and the node of its items
//   kinds["<group>/<version>/<Kind>"] = the node of `spec`
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const pkgDir = path.join(root, 'node_modules/@kubernetes-models/istio');
const outFile = path.join(root, 'src/config/generated/istio-fields.json');
// The API groups whose kinds skiff reads (install.istio.io's IstioOperator is not config).
const GROUPS = [
  'networking.istio.io',
  'security.istio.io',
  'telemetry.istio.io',
  'extensions.istio.io',
];

const SCALAR = { t: 'scalar' };
const FREE = { t: 'free' };

function fail(node, message) {
  const sf = node.getSourceFile();
  const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
  throw new Error(`${sf.fileName}:${line + 1}: ${message}: ${node.getText(sf).slice(0, 80)}`);
}

function propName(member) {
  const name = member.name;
  if (ts.isStringLiteral(name) || ts.isIdentifier(name)) return name.text;
  return fail(member, 'unexpected property name');
}

/** Merges two shapes of the same value (from unions and intersections). */
function merge(a, b) {
  if (a.t === 'free' || b.t === 'free') return FREE;
  if (a.t === 'scalar') return b;
  if (b.t === 'scalar') return a;
  if (a.t === 'array' && b.t === 'array') return { t: 'array', items: merge(a.items, b.items) };
  if (a.t === 'object' && b.t === 'object') {
    const props = new Map(a.props);
    for (const [k, v] of b.props) props.set(k, props.has(k) ? merge(props.get(k), v) : v);
    const map = a.map && b.map ? merge(a.map, b.map) : (a.map ?? b.map);
    return { t: 'object', props, map, oneOf: [...a.oneOf, ...b.oneOf] };
  }
  // An object or an array: the CRDs have no such field; keep the object, the schema check
  // reports the type.
  return a.t === 'object' ? a : b;
}

/** The keys that the alternatives of an Exclude<Base, Base & (A | B | ...)> require. */
function oneOfGroup(excluded) {
  const keys = new Set();
  const visit = (node) => {
    if (ts.isParenthesizedTypeNode(node)) return visit(node.type);
    if (ts.isIntersectionTypeNode(node) || ts.isUnionTypeNode(node))
      return node.types.forEach(visit);
    if (ts.isTypeLiteralNode(node)) {
      for (const m of node.members) {
        if (ts.isPropertySignature(m) && !m.questionToken) keys.add(propName(m));
      }
    }
  };
  visit(excluded);
  return [...keys].sort();
}

function shape(node) {
  if (ts.isParenthesizedTypeNode(node)) return shape(node.type);
  switch (node.kind) {
    case ts.SyntaxKind.StringKeyword:
    case ts.SyntaxKind.NumberKeyword:
    case ts.SyntaxKind.BooleanKeyword:
    case ts.SyntaxKind.LiteralType:
      return SCALAR;
    case ts.SyntaxKind.AnyKeyword:
    case ts.SyntaxKind.UnknownKeyword:
    case ts.SyntaxKind.ObjectKeyword:
      return FREE;
  }
  if (ts.isArrayTypeNode(node)) return { t: 'array', items: shape(node.elementType) };
  if (ts.isUnionTypeNode(node) || ts.isIntersectionTypeNode(node)) {
    return node.types.map(shape).reduce(merge);
  }
  if (ts.isTypeLiteralNode(node)) {
    // `{}` is how the models write google.protobuf.Struct and other free-form values.
    if (node.members.length === 0) return FREE;
    const props = new Map();
    let map;
    for (const m of node.members) {
      if (ts.isPropertySignature(m)) {
        if (!m.type) fail(m, 'property without a type');
        props.set(propName(m), shape(m.type));
      } else if (ts.isIndexSignatureDeclaration(m)) {
        map = shape(m.type);
      } else {
        fail(m, 'unexpected member');
      }
    }
    return { t: 'object', props, map, oneOf: [] };
  }
  if (ts.isTypeReferenceNode(node)) {
    const name = node.typeName.getText();
    const args = node.typeArguments ?? [];
    if (name === 'Array' && args.length === 1) return { t: 'array', items: shape(args[0]) };
    if (name === 'Record' && args.length === 2) {
      return { t: 'object', props: new Map(), map: shape(args[1]), oneOf: [] };
    }
    if (name === 'Exclude' && args.length === 2) {
      const base = shape(args[0]);
      const group = oneOfGroup(args[1]);
      if (base.t === 'object' && group.length > 1)
        return { ...base, oneOf: [...base.oneOf, group] };
      return base;
    }
  }
  return fail(node, 'unsupported type');
}

// Interning: identical shapes (the same message used in many places) share one node.
const nodes = ['s', '*'];
const index = new Map([
  ['"s"', 0],
  ['"*"', 1],
]);

function intern(s) {
  if (s.t === 'scalar') return 0;
  if (s.t === 'free') return 1;
  let node;
  if (s.t === 'array') {
    node = { a: intern(s.items) };
  } else {
    node = { p: {} };
    for (const k of [...s.props.keys()].sort()) node.p[k] = intern(s.props.get(k));
    if (s.map) node.m = intern(s.map);
    const groups = new Map(s.oneOf.map((g) => [g.join(','), g]));
    if (groups.size) node.o = [...groups.keys()].sort().map((k) => groups.get(k));
  }
  const key = JSON.stringify(node);
  let i = index.get(key);
  if (i === undefined) {
    i = nodes.length;
    nodes.push(node);
    index.set(key, i);
  }
  return i;
}

function specOf(file, kind) {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  for (const stmt of sf.statements) {
    if (ts.isInterfaceDeclaration(stmt) && stmt.name.text === `I${kind}`) {
      const spec = stmt.members.find((m) => ts.isPropertySignature(m) && propName(m) === 'spec');
      if (!spec?.type) fail(stmt, 'no spec');
      return shape(spec.type);
    }
  }
  throw new Error(`${file}: interface I${kind} not found`);
}

if (!existsSync(pkgDir)) {
  console.error('gen-istio-fields: @kubernetes-models/istio is not installed (run npm install)');
  process.exit(1);
}
const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
const kinds = {};
for (const group of GROUPS) {
  for (const version of readdirSync(path.join(pkgDir, group)).sort()) {
    const dir = path.join(pkgDir, group, version);
    if (!version.startsWith('v')) continue;
    for (const f of readdirSync(dir).sort()) {
      if (!f.endsWith('.d.ts') || f === 'index.d.ts') continue;
      const kind = f.slice(0, -'.d.ts'.length);
      kinds[`${group}/${version}/${kind}`] = intern(specOf(path.join(dir, f), kind));
    }
  }
}

const table = { source: `${pkg.name}@${pkg.version}`, nodes, kinds };
const text = JSON.stringify(table) + '\n';
mkdirSync(path.dirname(outFile), { recursive: true });
if (!existsSync(outFile) || readFileSync(outFile, 'utf8') !== text) writeFileSync(outFile, text);
console.log(
  `gen-istio-fields: ${Object.keys(kinds).length} kinds, ${nodes.length} nodes -> ${path.relative(root, outFile)}`,
);
