import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, VAD_MODELS, sha256, tempDir } from './helpers/store-fixtures.js';

interface PackageJson { main: string; types: string; bin: Record<string, string>; files: string[] }
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as PackageJson;

test('package.json points at files that exist: main, types, bin, and every entry of files', () => {
  for (const p of [pkg.main, pkg.types, ...Object.values(pkg.bin), ...pkg.files.filter((f) => !f.startsWith('!'))]) assert.ok(existsSync(join(REPO_ROOT, p)), `${p} exists`);
});

test('the library entry (package.json main) stores, serves and exports a model', async () => {
  const lib = await import(pathToFileURL(join(REPO_ROOT, pkg.main)).href) as typeof import('../src/index.js');
  const { dir, cleanup } = tempDir();
  const store = await lib.Store.open(join(dir, 'store.db'));
  try {
    const r = await store.import(VAD_MODELS[1]!, { name: 'vad' });
    assert.equal(r.model.version, 1);
    const server = await lib.startServer(store, { port: 0, log: () => {} });
    try {
      const meta = await (await fetch(`${server.url}/v2/models/vad`)).json() as { platform: string };
      assert.equal(meta.platform, 'onnxruntime_onnx');
    } finally {
      await server.close();
    }
    await store.export(lib.parseModelRef('vad:1'), join(dir, 'out.onnx'));
    assert.equal(sha256(join(dir, 'out.onnx')), sha256(VAD_MODELS[1]!));
    await assert.rejects(store.export({ name: 'nope' }, join(dir, 'x')), (e: unknown) => lib.kindOf(e) === 'not-found');
  } finally {
    await store.close();
    cleanup();
  }
});
