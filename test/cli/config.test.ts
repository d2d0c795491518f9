import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_STORE, backendConfigFromEnv, storeLocation } from '../../src/cli/config.js';
import { backendConfig } from '../../src/backends/config.js';

test('the store location: --store, else TESSERA_STORE, else ./tessera.db', () => {
  assert.equal(storeLocation(undefined, {}), DEFAULT_STORE);
  assert.equal(storeLocation(undefined, { TESSERA_STORE: '' }), DEFAULT_STORE);
  assert.equal(storeLocation(undefined, { TESSERA_STORE: 'a.db' }), 'a.db');
  assert.equal(storeLocation('b.db', { TESSERA_STORE: 'a.db' }), 'b.db');
});

test('backend settings from the environment; unset ones take the defaults', () => {
  assert.deepEqual(backendConfigFromEnv({}), {});
  assert.deepEqual(backendConfig(backendConfigFromEnv({})), backendConfig());
  assert.equal(backendConfig().busyTimeoutMs, 10_000);
  assert.equal(backendConfig().pgPoolSize, 8);
  assert.equal(backendConfig().applicationName, `tessera pid ${process.pid}`);
  assert.deepEqual(backendConfigFromEnv({ TESSERA_BUSY_TIMEOUT_MS: '1500', TESSERA_PG_POOL: '3', PGAPPNAME: 'importer' }),
    { busyTimeoutMs: 1500, pgPoolSize: 3, applicationName: 'importer' });
  assert.deepEqual(backendConfigFromEnv({ TESSERA_BUSY_TIMEOUT_MS: '', TESSERA_PG_POOL: 'many', PGAPPNAME: '' }), {});
  assert.throws(() => backendConfigFromEnv({ TESSERA_BUSY_TIMEOUT_MS: '2.5s' }), /^Error: TESSERA_BUSY_TIMEOUT_MS=2\.5s: expected a whole number of milliseconds$/);
  assert.throws(() => backendConfigFromEnv({ TESSERA_BUSY_TIMEOUT_MS: '-1' }), /expected a whole number of milliseconds/);
});
