/**
 * Ensemble definitions (ensemble.md): a small JSON file that makes a model
 * out of stored models, run as a DAG of steps. Imported like any model file
 * (format "ensemble"), checked here at import and again when served.
 */
import type { ByteSource } from '../io/file-source.js';
import { validateCoverage } from './coverage.js';
import { FormatError } from './errors.js';
import type { FormatReader } from './reader.js';
import type { Segmentation } from './segment.js';

/** The key that marks a JSON file as an ensemble definition, and the one version of it. */
export const ENSEMBLE_KEY = 'tessera_ensemble';
export const ENSEMBLE_VERSION = 1;
/** Bounds of a definition: bytes, steps, tensors per step. */
export const ENSEMBLE_LIMITS = Object.freeze({ bytes: 1 << 20, steps: 64, tensorsPerStep: 64, ioTensors: 64 });

const DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export type EnsembleDatatype = (typeof DATATYPES)[number];

export interface EnsembleTensor {
  name: string;
  datatype: EnsembleDatatype;
  /** -1: any size. */
  shape: number[];
}

export interface EnsembleStep {
  name: string;
  model: string;
  /** Pinned version, or undefined: the latest version the step model's policy serves. */
  version?: number;
  /** Step model input -> ensemble tensor. */
  input_map: Record<string, string>;
  /** Step model output -> ensemble tensor. */
  output_map: Record<string, string>;
}

export interface EnsembleDefinition {
  inputs: EnsembleTensor[];
  outputs: EnsembleTensor[];
  steps: EnsembleStep[];
}

const NAME = /^[A-Za-z0-9_.:/-]{1,128}$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function tensorsOf(v: unknown, what: string, fail: (m: string) => never): EnsembleTensor[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > ENSEMBLE_LIMITS.ioTensors) fail(`"${what}" must list 1 to ${ENSEMBLE_LIMITS.ioTensors} tensors`);
  const seen = new Set<string>();
  return v.map((t, i) => {
    if (!isObject(t)) fail(`${what}[${i}] must be an object`);
    if (typeof t.name !== 'string' || !NAME.test(t.name)) fail(`${what}[${i}]: "name" must be 1-128 letters, digits or _ . : / -`);
    if (seen.has(t.name)) fail(`${what}: tensor "${t.name}" is listed twice`);
    seen.add(t.name);
    if (typeof t.datatype !== 'string' || !(DATATYPES as readonly string[]).includes(t.datatype)) fail(`${what} "${t.name}": "datatype" must be one of ${DATATYPES.join(', ')}`);
    if (!Array.isArray(t.shape) || t.shape.length > 16 || t.shape.some((d) => !Number.isSafeInteger(d) || (d as number) < -1)) {
      fail(`${what} "${t.name}": "shape" must be a list of at most 16 dimensions (-1: any size)`);
    }
    return { name: t.name, datatype: t.datatype as EnsembleDatatype, shape: t.shape as number[] };
  });
}

function mapOf(v: unknown, what: string, fail: (m: string) => never): Record<string, string> {
  if (!isObject(v)) fail(`${what} must be an object of step model tensor -> ensemble tensor`);
  const entries = Object.entries(v);
  if (entries.length === 0 || entries.length > ENSEMBLE_LIMITS.tensorsPerStep) fail(`${what} must map 1 to ${ENSEMBLE_LIMITS.tensorsPerStep} tensors`);
  for (const [k, x] of entries) {
    if (k.length === 0 || k.length > 256) fail(`${what}: tensor name "${k.slice(0, 40)}" must be 1-256 characters`);
    if (typeof x !== 'string' || !NAME.test(x)) fail(`${what}["${k}"] must name an ensemble tensor (1-128 letters, digits or _ . : / -)`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

/**
 * Parses and checks a definition: every tensor a step reads is an ensemble
 * input or another step's output, each tensor is written once, the steps form
 * no cycle, and every ensemble output is written by some step. Errors name
 * the file and the field.
 */
export function parseEnsemble(text: string, file: string): EnsembleDefinition {
  const fail = (m: string): never => {
    throw new FormatError(file, `ensemble definition: ${m}`);
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return fail(`not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(v)) return fail('must be a JSON object');
  if (v[ENSEMBLE_KEY] !== ENSEMBLE_VERSION) fail(`"${ENSEMBLE_KEY}" must be ${ENSEMBLE_VERSION}`);
  for (const k of Object.keys(v)) if (![ENSEMBLE_KEY, 'inputs', 'outputs', 'steps', 'description'].includes(k)) fail(`unknown key "${k}"`);
  const inputs = tensorsOf(v.inputs, 'inputs', fail);
  const outputs = tensorsOf(v.outputs, 'outputs', fail);
  if (!Array.isArray(v.steps) || v.steps.length === 0 || v.steps.length > ENSEMBLE_LIMITS.steps) fail(`"steps" must list 1 to ${ENSEMBLE_LIMITS.steps} steps`);
  const steps: EnsembleStep[] = [];
  const names = new Set<string>();
  for (const [i, s] of (v.steps as unknown[]).entries()) {
    if (!isObject(s)) fail(`steps[${i}] must be an object`);
    const st = s as Record<string, unknown>;
    const name = typeof st.name === 'string' ? st.name : `step${i + 1}`;
    if (!NAME.test(name)) fail(`steps[${i}]: "name" must be 1-128 letters, digits or _ . : / -`);
    if (names.has(name)) fail(`two steps are named "${name}"`);
    names.add(name);
    for (const k of Object.keys(st)) if (!['name', 'model', 'version', 'input_map', 'output_map'].includes(k)) fail(`step "${name}": unknown key "${k}"`);
    if (typeof st.model !== 'string' || st.model.length === 0 || st.model.length > 256) fail(`step "${name}": "model" must name a stored model`);
    let version: number | undefined;
    if (st.version !== undefined && st.version !== 'latest') {
      if (typeof st.version !== 'number' || !Number.isSafeInteger(st.version) || st.version < 1) fail(`step "${name}": "version" must be a positive integer or "latest"`);
      version = st.version as number;
    }
    steps.push({
      name, model: st.model as string, ...(version !== undefined ? { version } : {}),
      input_map: mapOf(st.input_map, `step "${name}": input_map`, fail),
      output_map: mapOf(st.output_map, `step "${name}": output_map`, fail),
    });
  }
  checkGraph({ inputs, outputs, steps }, fail);
  return { inputs, outputs, steps };
}

function checkGraph(d: EnsembleDefinition, fail: (m: string) => never): void {
  const writer = new Map<string, string>(d.inputs.map((t) => [t.name, 'the ensemble\'s inputs']));
  for (const s of d.steps) {
    for (const t of Object.values(s.output_map)) {
      const other = writer.get(t);
      if (other !== undefined) fail(`tensor "${t}" is written by step "${s.name}" and by ${other === 'the ensemble\'s inputs' ? other : `step "${other}"`}`);
      writer.set(t, s.name);
    }
  }
  for (const s of d.steps) {
    for (const t of Object.values(s.input_map)) if (!writer.has(t)) fail(`step "${s.name}" reads tensor "${t}", which no step writes and is not an input`);
  }
  for (const o of d.outputs) if (!writer.has(o.name)) fail(`output "${o.name}" is written by no step`);
  // Kahn's order: a step left over sits on a cycle.
  const done = new Set(d.inputs.map((t) => t.name));
  let left = [...d.steps];
  while (left.length) {
    const ready = left.filter((s) => Object.values(s.input_map).every((t) => done.has(t)));
    if (ready.length === 0) fail(`steps ${left.map((s) => `"${s.name}"`).join(', ')} wait on each other (a cycle)`);
    for (const s of ready) for (const t of Object.values(s.output_map)) done.add(t);
    left = left.filter((s) => !ready.includes(s));
  }
}

export const ensembleReader: FormatReader = {
  format: 'ensemble',
  sniff: (head, path) => path.toLowerCase().endsWith('.json') && head.toString('latin1').includes(`"${ENSEMBLE_KEY}"`),
  read(src: ByteSource): Segmentation {
    if (src.size > ENSEMBLE_LIMITS.bytes) throw new FormatError(src.name, `ensemble definition of ${src.size} bytes; at most ${ENSEMBLE_LIMITS.bytes}`);
    parseEnsemble(src.read(0, src.size).toString('utf8'), src.name);
    const segments: Segmentation['segments'] = [{ kind: 'literal', offset: 0, length: src.size }];
    validateCoverage(segments, src.size, src.name);
    return { format: 'ensemble', segments };
  },
};
