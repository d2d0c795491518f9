/**
 * The README's production section against the code: every metric the
 * server registers is in its table of what to monitor, and every name it
 * mentions exists; the unit and config file it points to are there, and the
 * config file passes `tessera config check`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metrics } from '../../src/serve/metrics.js';
import { REPO_ROOT } from '../helpers/store-fixtures.js';
import { tessera } from '../helpers/cli.js';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Running it in production'), readme.indexOf('## Reliability'));

test('the production section names every metric the server registers, and only those', async () => {
  assert.ok(section.length > 1000, 'README has a section "Running it in production" before "Reliability"');
  const registered = new Metrics().registry.getMetricsAsArray().map((m) => m.name);
  const own = registered.filter((n) => !/^tessera_(process|nodejs)_/.test(n));
  const table = section.slice(section.indexOf('| metric |'));
  assert.deepEqual(own.filter((n) => !table.includes(`\`${n}`)), [], 'registered but not in the table');
  const mentioned = [...new Set(section.match(/tessera_[a-z0-9_]+/g) ?? [])];
  assert.deepEqual(mentioned.filter((n) => !registered.includes(n)), [], 'mentioned but not registered');
});

test('deploy/: the systemd unit runs tessera serve with the config file, and that file passes config check', async () => {
  const unit = readFileSync(join(REPO_ROOT, 'deploy/tessera.service'), 'utf8');
  assert.match(unit, /^ExecStart=.*tessera serve$/m);
  assert.match(unit, /^Environment=TESSERA_CONFIG=\/etc\/tessera\/tessera\.toml$/m);
  assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  const r = await tessera(['config', 'check', '--config', join(REPO_ROOT, 'deploy/tessera.toml'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const c = JSON.parse(r.stdout) as { store: { source: string }; settings: { setting: string; source: string }[] };
  assert.equal(c.store.source, 'file');
  assert.ok(c.settings.filter((s) => s.source === 'file').length >= 6);
});
