import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../../src/store/store.js';
import { VAD_MODELS, randomBytes, tempDir } from '../../helpers/store-fixtures.js';
import { spawnServe } from '../child-server.js';
import type { ChildServer } from '../child-server.js';
import { identityModel } from '../identity-model.js';
import { AWKWARD_FILE_NAMES } from '../../helpers/hostile-names.js';

/** A model file the hostile requests aim at, with the bytes a download must give back. */
export interface Target {
  model: string;
  path: string;
  bytes: Buffer;
}

/**
 * What the hostile requests run against: a store with an ONNX model to infer
 * with, an identity model over strings (BYTES round trips), a raw file for
 * downloads and ranges and an empty one, served twice as users run it —
 * `open`, without a token (what `npm start` runs: loopback, writes open to
 * local clients), and `guarded`, with --token and --token-read.
 */
export interface World {
  dir: string;
  store: string;
  token: string;
  open: ChildServer;
  guarded: ChildServer;
  vad: Target;
  blob: Target;
  empty: Target;
  /** An identity model over strings: input x_BYTES [n, 1] gives y_BYTES. */
  ident: string;
  /** Strings that must never appear in an answer: where the store and the server's files live. */
  secrets: string[];
  close(): Promise<void>;
}

export const TOKEN = 'hostile-campaign-token-0123456789';

/** The one web origin both servers allow (--allow-origin): CORS for it, and for nothing else. */
export const ALLOWED_ORIGIN = 'https://app.example';

/** Model names the requests may create (a legitimate upload); anything else must stay as it was. */
export const SCRATCH = 'scratch';

export async function buildWorld(extraArgs: string[] = []): Promise<World> {
  const { dir, cleanup } = tempDir('tessera-hostile-');
  const store = join(dir, 'store.db');
  const s = await Store.open(store);
  const vadBytes = readFileSync(VAD_MODELS[1]!);
  const blobBytes = randomBytes(3 * 1024 * 1024 + 123, 7);
  const files = { vad: join(dir, 'vad.onnx'), blob: join(dir, 'blob.bin'), empty: join(dir, 'empty.bin'), ident: join(dir, 'ident.onnx'), awkward: join(dir, 'awkward') };
  // Files whose names need RFC 8187 in a download's Content-Disposition.
  mkdirSync(files.awkward);
  for (const [i, name] of AWKWARD_FILE_NAMES.entries()) writeFileSync(join(files.awkward, name), `awkward ${i}`);
  writeFileSync(files.vad, vadBytes);
  writeFileSync(files.blob, blobBytes);
  writeFileSync(files.empty, Buffer.alloc(0));
  writeFileSync(files.ident, identityModel(1, ['BYTES']));
  try {
    await s.import(files.vad, { name: 'vad' });
    await s.import(files.blob, { name: 'blob' });
    await s.import(files.empty, { name: 'empty' });
    await s.import(files.ident, { name: 'ident' });
    await s.import(files.awkward, { name: 'awkward' });
  } finally {
    await s.close();
  }
  const base = ['--store', store, '--port', '0', '--allow-origin', ALLOWED_ORIGIN, ...extraArgs];
  const open = await spawnServe(base, { TESSERA_TOKEN: '' });
  let guarded: ChildServer;
  try {
    guarded = await spawnServe([...base, '--token', TOKEN, '--token-read']);
  } catch (e) {
    open.kill();
    throw e;
  }
  return {
    dir, store, token: TOKEN, open, guarded,
    vad: { model: 'vad', path: 'vad.onnx', bytes: vadBytes },
    blob: { model: 'blob', path: 'blob.bin', bytes: blobBytes },
    empty: { model: 'empty', path: 'empty.bin', bytes: Buffer.alloc(0) },
    ident: 'ident',
    secrets: [dir, store, '/tmp/tessera-upload'],
    close: async () => {
      await Promise.all([open.stop(), guarded.stop()]);
      cleanup();
    },
  };
}

/** Resident memory of a process, in bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/**
 * Every model version and file the store holds outside the scratch names,
 * and every serving configuration, as one comparable string: a hostile
 * request that changed any of it made an unauthorized change. Scratch models are returned apart, to be checked
 * against what their legitimate uploads sent.
 */
export async function snapshot(store: string): Promise<{ fixed: string; scratch: Map<string, { path: string; sha256: string; size: number }[]> }> {
  const s = await Store.open(store);
  try {
    const fixed: string[] = [];
    const scratch = new Map<string, { path: string; sha256: string; size: number }[]>();
    for (const { model, files } of await s.catalog()) {
      const rows = files.map((f) => ({ path: f.path, sha256: f.sha256.toString('hex'), size: f.size }));
      if (model.name.startsWith(`${SCRATCH}-`)) scratch.set(`${model.name}:${model.version}`, rows);
      else fixed.push(JSON.stringify({ model: `${model.name}:${model.version}`, unavailable: model.unavailable, rows }));
    }
    for (const c of await s.servingConfigRows()) fixed.push(JSON.stringify({ config: `${c.name}:${c.version}`, json: c.configJson }));
    return { fixed: fixed.sort().join('\n'), scratch };
  } finally {
    await s.close();
  }
}
