import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FieldTableMissingError } from './fields.js';
import { loadConfigPaths, parseConfigFile, parseConfigText } from './parse.js';
import { formatProblem } from './resource.js';
import { parse, problems, yaml } from './testing.js';

const SERVICE = yaml`
  apiVersion: v1
  kind: Service
  metadata:
    name: reviews
  spec:
    ports: [{port: 9080, name: http}]
`;

describe('parseConfigText', () => {
  it('reads several documents, with each source line, defaults and apiVersion as written', () => {
    const text = yaml`
      # reviews
      apiVersion: v1
      kind: Service
      metadata:
        name: reviews
        namespace: shop
      spec:
        ports: [{port: 9080}]
      ---
      # only a comment
      ---
      apiVersion: networking.istio.io/v1alpha3
      kind: VirtualService
      metadata:
        name: reviews
        labels: {app: reviews}
      spec:
        hosts: [reviews]
        http:
        - route:
          - destination: {host: reviews}
    `;
    const r = parseConfigText(text, 'mesh.yaml', { defaultNamespace: 'bookinfo' });
    assert.deepEqual(r.problems, []);
    assert.deepEqual(
      r.resources.map((x) => [
        x.kind,
        x.apiVersion,
        x.metadata.namespace,
        x.source.file,
        x.source.line,
      ]),
      [
        ['Service', 'v1', 'shop', 'mesh.yaml', 2],
        ['VirtualService', 'networking.istio.io/v1alpha3', 'bookinfo', 'mesh.yaml', 12],
      ],
    );
    assert.deepEqual(r.resources[0]?.metadata.labels, {});
    assert.deepEqual(r.resources[0]?.metadata.annotations, {});
    assert.deepEqual(r.resources[1]?.metadata.labels, { app: 'reviews' });
    assert.equal(parse(SERVICE).resources[0]?.metadata.namespace, 'default');
  });

  it('skips empty documents and empty text', () => {
    assert.deepEqual(parse('---\n# nothing\n---\n\n---\nnull\n'), { resources: [], problems: [] });
    assert.deepEqual(parse(''), { resources: [], problems: [] });
  });

  it('reports YAML syntax errors with their line', () => {
    assert.deepEqual(problems('apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  name: b\n'), [
      'test.yaml:5: (unknown kind): YAML syntax error: Map keys must be unique',
    ]);
    assert.deepEqual(
      problems('apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n\tspec: {}\n'),
      ['test.yaml:5: (unknown kind): YAML syntax error: Tabs are not allowed as indentation'],
    );
  });

  it('keeps reading after a broken document', () => {
    const r = parse(`apiVersion: v1\nkind: Service\nmetadata: {name: [a\n---\n${SERVICE}`);
    assert.equal(r.resources.length, 1);
    assert.deepEqual(r.problems.map(formatProblem), [
      'test.yaml:4: (unknown kind): YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
      'test.yaml:4: (unknown kind): YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }',
    ]);
  });

  it('wants a mapping with apiVersion and kind', () => {
    assert.deepEqual(problems('- a\n- b\n'), [
      'test.yaml:1: (unknown kind): a document must be a mapping with apiVersion and kind',
    ]);
    assert.deepEqual(problems('metadata: {name: a}\nspec: {}\n'), [
      'test.yaml:1: (unknown kind): apiVersion: apiVersion is required (a string)',
      'test.yaml:1: (unknown kind): kind: kind is required (a string)',
    ]);
  });

  it('warns about kinds skiff does not run, and keeps no resource', () => {
    const r = parse(yaml`
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: reviews-v1}
      spec: {replicas: 1}
    `);
    assert.deepEqual(r.problems.map(formatProblem), [
      'test.yaml:1: Deployment default/reviews-v1: warning: ignored: skiff does not run Deployment (apps/v1)',
    ]);
    assert.deepEqual(r.resources, []);
  });

  it('rejects unknown Istio kinds and versions', () => {
    assert.deepEqual(
      problems('apiVersion: networking.istio.io/v1\nkind: VirtualServce\nmetadata: {name: a}\n'),
      [
        'test.yaml:2: VirtualServce default/a: kind: unknown Istio kind VirtualServce in networking.istio.io',
      ],
    );
    assert.deepEqual(
      problems('apiVersion: networking.istio.io/v1\nkind: EnvoyFilter\nmetadata: {name: a}\n'),
      [
        'test.yaml:2: EnvoyFilter default/a: kind: EnvoyFilter is not served at networking.istio.io/v1 (use networking.istio.io/v1alpha3)',
      ],
    );
    assert.deepEqual(
      problems('apiVersion: config.istio.io/v1alpha2\nkind: rule\nmetadata: {name: a}\n'),
      ['test.yaml:2: rule default/a: kind: unknown Istio API group config.istio.io (kind rule)'],
    );
  });

  it('parses EnvoyFilter and ProxyConfig but warns that skiff ignores them', () => {
    const r = parse(
      'apiVersion: networking.istio.io/v1beta1\nkind: ProxyConfig\nmetadata: {name: p}\nspec: {concurrency: 2}\n',
    );
    assert.deepEqual(r.problems.map(formatProblem), [
      'test.yaml:1: ProxyConfig default/p: warning: ProxyConfig is not supported by skiff: it is validated but has no effect',
    ]);
    assert.equal(r.resources.length, 1);
  });

  it('checks metadata: required name, known keys, names, labels, annotations', () => {
    assert.deepEqual(problems('apiVersion: v1\nkind: Service\nspec: {ports: [{port: 80}]}\n'), [
      'test.yaml:1: Service default/: metadata.name: metadata.name is required',
    ]);
    const text = yaml`
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata:
        name: Reviews
        namespce: shop
        namespace: Shop
        labels: {"app/": x}
        annotations: {"bad key!": x}
      spec: {host: reviews}
    `;
    assert.deepEqual(problems(text), [
      `test.yaml:4: DestinationRule Shop/Reviews: metadata.name: "Reviews" is not a valid name (DNS-1123 subdomain): use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`,
      'test.yaml:5: DestinationRule Shop/Reviews: metadata.namespce: unknown field (did you mean "namespace"?)',
      `test.yaml:6: DestinationRule Shop/Reviews: metadata.namespace: "Shop" is not a valid namespace: use at most 63 lower-case letters, digits and '-'`,
      `test.yaml:7: DestinationRule Shop/Reviews: metadata.labels["app/"]: label invalid key "app/": the name must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
      `test.yaml:8: DestinationRule Shop/Reviews: metadata.annotations["bad key!"]: annotation invalid key "bad key!": the name must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
    ]);
  });

  it('accepts the metadata kubectl prints', () => {
    const text = yaml`
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata:
        name: reviews
        uid: 1d2c
        resourceVersion: "42"
        generation: 3
        creationTimestamp: null
        generateName: rev-
        finalizers: [x]
        ownerReferences: []
      spec: {host: reviews}
      status: {}
    `;
    assert.deepEqual(problems(text), []);
  });

  it('rejects unknown top-level fields and label values that are not strings', () => {
    const text = yaml`
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata:
        name: reviews
        labels: {version: 1}
      specs: {host: reviews}
    `;
    assert.deepEqual(problems(text), [
      'test.yaml:1: DestinationRule default/reviews: spec.host: required field is missing',
      'test.yaml:5: DestinationRule default/reviews: metadata.labels.version: must be a string (got 1)',
      'test.yaml:6: DestinationRule default/reviews: specs: unknown field (did you mean "spec"?)',
    ]);
  });

  it('reports every unknown field, deep and in lists, with a hint when one is close', () => {
    const text = yaml`
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: {name: r}
      spec:
        hosts: [r]
        http:
        - route:
          - destination: {host: r, subst: v1}
          retries: {attempts: 1, per_try_timeout: 1s}
          colour: blue
    `;
    assert.deepEqual(problems(text), [
      'test.yaml:8: VirtualService default/r: spec.http[0].route[0].destination.subst: unknown field (did you mean "subset"?)',
      'test.yaml:9: VirtualService default/r: spec.http[0].retries.per_try_timeout: unknown field (did you mean "perTryTimeout"?)',
      'test.yaml:10: VirtualService default/r: spec.http[0].colour: unknown field',
    ]);
  });

  it('treats null fields as unset (Kubernetes prunes them) but rejects null list items', () => {
    const text = yaml`
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: {name: r, labels: null}
      spec:
        hosts: [r]
        gateways: null
        http:
        - route:
          - destination: {host: r}
          timeout: null
        -
    `;
    const r = parse(text);
    assert.deepEqual(r.problems.map(formatProblem), [
      'test.yaml:11: VirtualService default/r: spec.http[1]: must be an object (got null)',
    ]);
    const ok = parse(text.replace(/\n *-\n$/, '\n'));
    assert.deepEqual(ok.problems, []);
    assert.deepEqual(ok.resources[0]?.spec, {
      hosts: ['r'],
      http: [{ route: [{ destination: { host: 'r' } }] }],
    });
  });

  it('lets free-form fields be (EnvoyFilter patch values)', () => {
    const text = yaml`
      apiVersion: networking.istio.io/v1alpha3
      kind: EnvoyFilter
      metadata: {name: f}
      spec:
        configPatches:
        - applyTo: HTTP_FILTER
          patch:
            operation: INSERT_BEFORE
            value: {name: envoy.lua, typed_config: {"@type": x, anything: [1, 2]}}
    `;
    assert.deepEqual(problems(text), [
      'test.yaml:1: EnvoyFilter default/f: warning: EnvoyFilter is not supported by skiff: it is validated but has no effect',
    ]);
  });
});

describe('parseConfigFile and loadConfigPaths', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'skiff-config-'));
    await mkdir(path.join(dir, 'b', 'nested'), { recursive: true });
    await mkdir(path.join(dir, '.hidden'));
    await mkdir(path.join(dir, 'node_modules'));
    const svc = (name: string): string => SERVICE.replace('name: reviews', `name: ${name}`);
    await writeFile(path.join(dir, 'b', 'nested', 'c.yml'), svc('c'));
    await writeFile(path.join(dir, 'a.yaml'), svc('a'));
    await writeFile(
      path.join(dir, 'b', 'b.json'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'b' },
        spec: { ports: [{ port: 1 }] },
      }),
    );
    await writeFile(path.join(dir, 'package.json'), '{"name": "app"}');
    await writeFile(path.join(dir, 'tsconfig.json'), '{ // comments\n "compilerOptions": {} }');
    await writeFile(path.join(dir, 'notes.txt'), 'not config');
    await writeFile(path.join(dir, '.hidden', 'x.yaml'), svc('hidden'));
    await writeFile(path.join(dir, 'node_modules', 'x.yaml'), svc('module'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('walks directories in sorted order, skipping dot-directories, node_modules and non-config JSON', async () => {
    const r = await loadConfigPaths([dir]);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(
      r.resources.map((x) => [x.metadata.name, path.relative(dir, x.source.file)]),
      [
        ['a', 'a.yaml'],
        ['b', path.join('b', 'b.json')],
        ['c', path.join('b', 'nested', 'c.yml')],
      ],
    );
  });

  it('reads files named explicitly, whatever they are, and reports missing paths', async () => {
    const missing = path.join(dir, 'missing.yaml');
    const r = await loadConfigPaths([path.join(dir, 'package.json'), missing]);
    assert.deepEqual(r.problems.map(formatProblem), [
      `${path.join(dir, 'package.json')}:1: (unknown kind): apiVersion: apiVersion is required (a string)`,
      `${path.join(dir, 'package.json')}:1: (unknown kind): kind: kind is required (a string)`,
      `${missing}:0: (unknown kind): no such file or directory`,
    ]);
    const one = await parseConfigFile(missing);
    assert.deepEqual(one.problems.map(formatProblem), [
      `${missing}:0: (unknown kind): no such file or directory`,
    ]);
    const a = await parseConfigFile(path.join(dir, 'a.yaml'), { defaultNamespace: 'x' });
    assert.equal(a.resources[0]?.metadata.namespace, 'x');
  });

  it('explains how to make the field table when it is missing', () => {
    const err = new FieldTableMissingError(['/x/istio-fields.json']);
    assert.equal(err.code, 'SKIFF_FIELD_TABLE_MISSING');
    assert.match(err.message, /run `npm run build`/);
  });
});
