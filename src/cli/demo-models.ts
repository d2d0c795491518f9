import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface DemoModel {
  name: string;
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
  for (const m of models) if (!existsSync(m.path)) throw new Error(`${m.path}: demo model missing; reinstall with \`npm install\``);
  return models;
}
