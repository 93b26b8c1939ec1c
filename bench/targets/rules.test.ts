// The benchmark's rule set is valid config of the size the issue names.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../src/config/parse.js';
import { formatProblem } from '../../src/config/resource.js';
import { rulesYaml } from './rules.js';

test('20 VirtualServices and 20 DestinationRules, all valid', () => {
  const { resources, problems } = parseConfigText(rulesYaml(), 'rules.yaml');
  assert.deepEqual(problems.map(formatProblem), []);
  const count = (kind: string) => resources.filter((r) => r.kind === kind).length;
  assert.equal(count('VirtualService'), 20);
  assert.equal(count('DestinationRule'), 20);
});
