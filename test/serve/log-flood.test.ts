import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { VAD_MODELS, tempDir } from '../helpers/store-fixtures.js';
import { BIN, spawnServe } from './child-server.js';
import type { ChildServer } from './child-server.js';
import { postJson } from './helpers.js';

/**
 * Failed inferences cannot flood the server's log: onnxruntime prints nothing
 * itself, and the server's own lines are rate-limited per kind, with one line
 * counting what was suppressed.
 */

const REQUESTS = 500;
const CONCURRENCY = 8;

// A batch of 2 with a recurrent state for a batch of 1: our checks pass it (the batch is dynamic), onnxruntime fails at run time.
const failing = {
  inputs: [
    { name: 'input', shape: [2, 512], datatype: 'FP32', data: new Array<number>(1024).fill(0.01) },
    { name: 'state', shape: [2, 1, 128], datatype: 'FP32', data: new Array<number>(256).fill(0) },
    { name: 'sr', shape: [], datatype: 'INT64', data: [16000] },
  ],
};

test(`${REQUESTS} inferences that fail inside onnxruntime leave a few lines on the server's stderr, with a count of the rest`, async () => {
  const { dir, cleanup } = tempDir();
  let server: ChildServer | undefined;
  try {
    const store = join(dir, 'store.db');
    const imported = spawnSync(process.execPath, [BIN, 'import', VAD_MODELS[1]!, '--name', 'vad', '--store', store], { encoding: 'utf8' });
    assert.equal(imported.status, 0, imported.stderr);
    server = await spawnServe(['--port', '0', '--store', store]);
    const url = `${server.url}/v2/models/vad/infer`;
    let next = 0;
    const statuses = new Map<number, number>();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        next++;
        const r = await postJson(url, failing);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    }));
    assert.deepEqual([...statuses], [[400, REQUESTS]], 'every request failed in onnxruntime with a 400');
    // The count of suppressed lines comes at the end of the window, or at shutdown, whichever is first.
    assert.equal(await server.stop(), 0);
    const lines = server.stderr().split('\n').filter((l) => l !== '');
    console.log(`# stderr after ${REQUESTS} failed inferences: ${lines.length} lines, the last: ${lines.at(-1)}`);
    // Besides the model's load and unload (info lines, one each).
    const flood = lines.filter((l) => !/^tessera serve: (loaded|unloaded) vad:1 /.test(l));
    assert.ok(lines.length - flood.length <= 2 && flood.length <= 12, `${lines.length} lines on stderr`);
    assert.ok(lines.every((l) => l.startsWith('tessera serve: ')), 'nothing from onnxruntime itself');
    const shown = lines.filter((l) => /inference failed/.test(l)).length;
    const suppressed = /… (\d+) more "inference" lines? suppressed/.exec(lines.join('\n'));
    assert.ok(shown > 0 && suppressed, 'the first failures are shown, then a count');
    assert.equal(shown + Number(suppressed[1]), REQUESTS, 'every failure is shown or counted');
  } finally {
    server?.kill();
    cleanup();
  }
});
