/**
 * The installable package (scripts/pack.ts, `npm run package`): packed from
 * this checkout, installed offline into a scratch project and globally into
 * a scratch prefix, with an empty npm cache and a registry that cannot be
 * reached, so that any download or build at install time fails the install.
 * Its CLI then answers --help, imports the demo models and serves them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packRelease } from '../scripts/pack.js';
import { tempDir } from './helpers/store-fixtures.js';

/** npm, offline: an empty cache of its own and a registry on a port nothing listens on. */
function npmOffline(args: string[], cwd: string, cache: string): { ms: number; out: string } {
  const t0 = performance.now();
  const r = spawnSync('npm', [...args, '--offline', '--cache', cache, '--registry', 'http://127.0.0.1:9/', '--no-audit', '--no-fund'],
    { cwd, encoding: 'utf8', env: { ...process.env, npm_config_userconfig: join(cache, 'npmrc') } });
  assert.equal(r.status, 0, `npm ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return { ms: performance.now() - t0, out: r.stdout + r.stderr };
}

/** `tessera serve` from `bin` on a free port: its URL once it listens, and a stop. */
async function serve(bin: string, cwd: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(bin, ['serve', '--port', '0'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
  return { url, stop: () => new Promise((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM'); }) };
}

test('the packed package installs offline (project and global), runs no install script, and its CLI imports and serves the demo', { timeout: 300_000 }, async () => {
  const { dir, cleanup } = tempDir('tessera-pkg-');
  try {
    const tarball = packRelease(join(dir, 'out'));
    // What ships: built code, web assets, the addons, demo models; no tests, sources, maps or other platforms' binaries.
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n').filter(Boolean);
    for (const want of ['package/README.md', 'package/LICENSE', 'package/bin/tessera.js', 'package/dist/src/cli/main.js', 'package/dist/web/index.html',
      'package/build/Release/tessera_planes.node', 'package/demo-models/silero_vad_v5.onnx',
      'package/node_modules/better-sqlite3/build/Release/better_sqlite3.node']) {
      assert.ok(files.includes(want), `${want} is in the package`);
    }
    const unwanted = files.filter((f) => /^package\/(dist\/(test|bench|scripts)\/|src\/|test\/|native\/)|\.map$|\.(c|cc|cpp|h)$|binding\.gyp$/.test(f)
      || (/onnxruntime-node\/bin\/napi-v6\//.test(f) && !f.includes(`/napi-v6/${process.platform}/${process.arch}/`)));
    assert.deepEqual(unwanted.slice(0, 5), []);
    const manifest = JSON.parse(execFileSync('tar', ['xzOf', tarball, 'package/package.json'], { encoding: 'utf8' })) as { bundleDependencies: string[]; scripts?: object };
    assert.equal(manifest.scripts, undefined);
    const withScripts = files.filter((f) => /^package\/node_modules\/(@[^/]+\/)?[^/]+\/package\.json$/.test(f)).filter((f) => {
      const p = JSON.parse(execFileSync('tar', ['xzOf', tarball, f], { encoding: 'utf8' })) as { scripts?: Record<string, string> };
      return ['preinstall', 'install', 'postinstall'].some((s) => p.scripts?.[s]);
    });
    assert.deepEqual(withScripts, [], 'no bundled package runs a script at install');

    // Into another project.
    const project = join(dir, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-tessera', version: '1.0.0', private: true }));
    const local = npmOffline(['install', tarball], project, join(dir, 'cache1'));
    console.log(`installed into a project offline in ${(local.ms / 1000).toFixed(1)} s`);
    const bin = join(project, 'node_modules/.bin/tessera');
    assert.match(execFileSync(bin, ['--help'], { encoding: 'utf8' }), /Usage: tessera/);
    const demo = execFileSync(bin, ['demo'], { cwd: project, encoding: 'utf8' });
    assert.match(demo, /silero-vad-v6:1/);
    assert.match(demo, /next: `tessera ls`/);
    const s = await serve(bin, project);
    try {
      const ready = await fetch(`${s.url}/v2/health/ready`);
      assert.equal(ready.status, 200);
      const frame = Array.from({ length: 512 }, (_, i) => Math.sin(i / 10) / 2);
      const infer = await fetch(`${s.url}/v2/models/silero-vad-v5/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({
        inputs: [{ name: 'input', shape: [1, 512], datatype: 'FP32', data: frame }, { name: 'sr', shape: [], datatype: 'INT64', data: [16000] },
          { name: 'state', shape: [2, 1, 128], datatype: 'FP32', data: new Array(256).fill(0) }],
      }) });
      assert.equal(infer.status, 200, await infer.clone().text());
      const answer = await infer.json() as { outputs: { name: string }[] };
      assert.ok(answer.outputs.some((o) => o.name === 'output'));
      assert.match(await (await fetch(`${s.url}/`)).text(), /<html/);
    } finally {
      await s.stop();
    }

    // Globally (-g into a prefix of its own): `tessera` on that prefix's PATH.
    const prefix = join(dir, 'global');
    const global = npmOffline(['install', '-g', '--prefix', prefix, tarball], dir, join(dir, 'cache2'));
    console.log(`installed globally offline in ${(global.ms / 1000).toFixed(1)} s`);
    const version = execFileSync('tessera', ['--version'], { encoding: 'utf8', env: { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env.PATH}` } });
    assert.match(version, new RegExp(`^${JSON.parse(readFileSync(join(project, 'node_modules/tessera/package.json'), 'utf8')).version as string} \\(byte planes: native\\)`));
  } finally {
    cleanup();
  }
});
