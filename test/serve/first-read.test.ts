/**
 * A server does not wait for its first read of the store's models (seconds
 * in a store of 100,000) before it answers health checks: it listens, live
 * answers at once, ready is false until the read is done, and a request for
 * a model waits for the read and then gets its answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from '../../src/serve/server.js';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { randomWeights, tempStore } from '../helpers/store-fixtures.js';
import { http } from './helpers.js';

test('health checks answer while the first read of the models is still under way; model requests wait for it', async () => {
  const t = await tempStore();
  try {
    const path = join(t.dir, 'm.safetensors');
    writeFileSync(path, buildSafetensors([{ name: 'w', dtype: 'F32', shape: [64], data: randomWeights(64, 1) }]));
    await t.store.import(path, { name: 'm' });
    // The store's full read held back until the test lets it go, as a big store's would take seconds.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const read = t.store.catalog.bind(t.store);
    t.store.catalog = async () => {
      await held;
      return read();
    };
    const server = await startServer(t.store, { port: 0, log: () => {} });
    try {
      assert.equal((await http(`${server.url}/v2/health/live`)).status, 200);
      assert.equal((await http(`${server.url}/v2/health/ready`)).status, 503, 'not ready before the models are read');
      let answered = false;
      const file = http(`${server.url}/v2/models/m/files/m.safetensors`).then((r) => {
        answered = true;
        return r;
      });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(answered, false, 'a model request waits for the read');
      release();
      assert.equal((await file).status, 200);
      assert.equal((await http(`${server.url}/v2/health/ready`)).status, 200);
    } finally {
      await server.close();
    }
  } finally {
    await t.cleanup();
  }
});
