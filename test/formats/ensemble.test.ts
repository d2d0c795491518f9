/** Ensemble definitions (src/formats/ensemble.ts): what is accepted, and the error each malformed one gets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BufferSource } from '../../src/io/file-source.js';
import { ENSEMBLE_LIMITS, parseEnsemble } from '../../src/formats/ensemble.js';
import { segmentFile } from '../../src/formats/index.js';
import { REPO_ROOT } from '../helpers/store-fixtures.js';

/** The spec note's example (src/formats/ensemble.md): its test vector. */
const EXAMPLE = {
  tessera_ensemble: 1,
  inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 64] }],
  outputs: [{ name: 'digit', datatype: 'FP32', shape: [-1, 10] }, { name: 'parity', datatype: 'FP32', shape: [-1, 2] }],
  steps: [
    { name: 'classify', model: 'digits-mlp', version: 3, input_map: { x: 'pixels' }, output_map: { logits: 'digit_logits' } },
    { name: 'parity', model: 'parity-mlp', input_map: { x: 'pixels' }, output_map: { logits: 'parity' } },
    { name: 'softmax', model: 'softmax', version: 'latest', input_map: { logits: 'digit_logits' }, output_map: { probs: 'digit' } },
  ],
};

const parse = (v: unknown): ReturnType<typeof parseEnsemble> => parseEnsemble(typeof v === 'string' ? v : JSON.stringify(v), 'e.json');
const bad = (v: unknown, re: RegExp): void => assert.throws(() => parse(v), (e: Error) => {
  assert.match(e.message, /^e\.json: ensemble definition: /);
  assert.match(e.message, re);
  return true;
});

test('the spec note\'s example parses to its steps, versions pinned or latest', () => {
  const d = parse(EXAMPLE);
  assert.deepEqual(d.steps.map((s) => [s.name, s.model, s.version]), [['classify', 'digits-mlp', 3], ['parity', 'parity-mlp', undefined], ['softmax', 'softmax', undefined]]);
  assert.deepEqual(d.inputs, EXAMPLE.inputs);
  const note = readFileSync(join(REPO_ROOT, 'src', 'formats', 'ensemble.md'), 'utf8');
  const block = /```json\n([\s\S]*?)\n```/.exec(note)![1]!;
  assert.deepEqual(JSON.parse(block), EXAMPLE, 'the spec note shows this example');
});

test('a .json file whose first key is tessera_ensemble is an ensemble; a malformed one is refused, not stored raw', () => {
  const text = Buffer.from(JSON.stringify(EXAMPLE));
  assert.equal(segmentFile(new BufferSource('e.json', text), 'e.json').format, 'ensemble');
  assert.throws(() => segmentFile(new BufferSource('e.json', Buffer.from('{"tessera_ensemble": 1, "steps": []}')), 'e.json'), /e\.json: ensemble definition: "inputs" must list/);
  assert.equal(segmentFile(new BufferSource('other.json', Buffer.from('{"a": 1}')), 'other.json').format, 'raw');
  const huge = Buffer.concat([Buffer.from('{"tessera_ensemble": 1, "description": "'), Buffer.alloc(ENSEMBLE_LIMITS.bytes, 0x61), Buffer.from('"}')]);
  assert.throws(() => segmentFile(new BufferSource('big.json', huge), 'big.json'), /big\.json: ensemble definition of \d+ bytes; at most 1048576/);
});

test('every malformed definition gets an error naming the field', () => {
  const step0 = EXAMPLE.steps[0]!;
  bad('[]', /must be a JSON object/);
  bad({ ...EXAMPLE, tessera_ensemble: 2 }, /"tessera_ensemble" must be 1/);
  bad({ ...EXAMPLE, extra: 1 }, /unknown key "extra"/);
  bad({ ...EXAMPLE, inputs: [{ name: 'a b', datatype: 'FP32', shape: [] }] }, /inputs\[0\]: "name"/);
  bad({ ...EXAMPLE, inputs: [{ name: 'a', datatype: 'FLOAT', shape: [] }] }, /input.* "a": "datatype" must be one of/);
  bad({ ...EXAMPLE, inputs: [{ name: 'a', datatype: 'FP32', shape: [-2] }] }, /"shape" must be a list/);
  bad({ ...EXAMPLE, steps: [] }, /"steps" must list 1 to 64 steps/);
  bad({ ...EXAMPLE, steps: [step0, step0] }, /two steps are named "classify"/);
  bad({ ...EXAMPLE, steps: [{ ...step0, version: 0 }] }, /step "classify": "version" must be a positive integer or "latest"/);
  bad({ ...EXAMPLE, steps: [{ ...step0, model: '' }] }, /step "classify": "model" must name a stored model/);
  bad({ ...EXAMPLE, steps: [{ ...step0, input_map: {} }] }, /step "classify": input_map must map 1 to 64 tensors/);
  bad({ ...EXAMPLE, steps: [{ ...step0, runs: 2 }] }, /step "classify": unknown key "runs"/);
  // The graph: unknown tensors, two writers, outputs nobody writes, cycles.
  bad({ ...EXAMPLE, steps: [{ ...step0, input_map: { x: 'nowhere' } }] }, /step "classify" reads tensor "nowhere", which no step writes and is not an input/);
  bad({ ...EXAMPLE, steps: [step0, { ...step0, name: 'again' }] }, /tensor "digit_logits" is written by step "again" and by step "classify"/);
  bad({ ...EXAMPLE, steps: [{ ...step0, output_map: { logits: 'pixels' } }] }, /tensor "pixels" is written by step "classify" and by the ensemble's inputs/);
  bad({ ...EXAMPLE, steps: [step0] }, /output "digit" is written by no step/);
  bad({
    ...EXAMPLE, outputs: [{ name: 'b', datatype: 'FP32', shape: [-1] }],
    steps: [
      { name: 'one', model: 'm', input_map: { x: 'b' }, output_map: { y: 'a' } },
      { name: 'two', model: 'm', input_map: { x: 'a' }, output_map: { y: 'b' } },
    ],
  }, /steps "one", "two" wait on each other \(a cycle\)/);
  bad('{"tessera_ensemble": 1,', /not valid JSON/);
});
