/**
 * tessera serve's settings from a TOML file, the environment and flags
 * (src/cli/serve-config.ts): precedence, `tessera config check`, clear
 * errors that start nothing, and the README's table made from the same
 * definitions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tessera } from '../helpers/cli.js';
import { REPO_ROOT, VAD_MODELS, tempDir } from '../helpers/store-fixtures.js';
import { spawnServe } from '../serve/child-server.js';
import { withTable } from '../../scripts/options-table.js';
import { SERVE_SETTINGS, envName, fileKey } from '../../src/cli/serve-settings.js';
import { DEFAULT_SERVE_OPTIONS } from '../../src/serve/options.js';

interface Checked { file: string | null; store: { location: string; source: string }; settings: { setting: string; value: unknown; source: string }[] }

test('precedence: a flag over its environment variable over the file over the default; config check shows each source, a token only as set', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'tessera.toml');
    writeFileSync(file, `# a comment
[serve]
store = "${join(dir, 'from-file.db')}"
port = 9001
memory_budget = "1GiB"
max_body = 1048576
allow_host = ["models.example.com"]
log_level = "warn"
token = "0123456789abcdef-secret"
token_read = true
`);
    const r = await tessera(['config', 'check', '--config', file, '--json'], { env: { TESSERA_PORT: '9002', TESSERA_MAX_BODY: '2MiB', TESSERA_STORE: '' } });
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout) as Checked;
    const get = (name: string): { value: unknown; source: string } => c.settings.find((s) => s.setting === name)!;
    assert.deepEqual(c.store, { location: join(dir, 'from-file.db'), source: 'file' });
    assert.deepEqual(get('port'), { ...get('port'), value: 9002, source: 'env' });
    assert.deepEqual([get('max-body').value, get('max-body').source], [2 << 20, 'env']);
    assert.deepEqual([get('memory-budget').value, get('memory-budget').source], [1 << 30, 'file']);
    assert.deepEqual([get('allow-host').value, get('token-read').value, get('log-level').value], [['models.example.com'], true, 'warn']);
    assert.deepEqual([get('token').value, get('token').source], ['(set)', 'file']);
    assert.ok(!r.stdout.includes('secret'), 'the token is not printed');
    assert.deepEqual([get('host').value, get('host').source], [DEFAULT_SERVE_OPTIONS.host, 'default']);

    // serve itself: the file's store, level and format, the environment's port over the file's, the flag's level over both.
    const store = join(dir, 'served.db');
    assert.equal((await tessera(['import', VAD_MODELS[1]!, '--name', 'vad', '--store', store])).code, 0);
    writeFileSync(file, `[serve]\nstore = "${store}"\nport = 9001\nlog_format = "json"\nlog_level = "error"\n`);
    const s = await spawnServe(['--config', file, '--log-level', 'info'], { TESSERA_PORT: '0' });
    try {
      assert.notEqual(s.port, 9001);
      assert.match(s.stdout(), new RegExp(`from ${store.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} at`));
      await fetch(`${s.url}/v2/models/vad`);
    } finally {
      assert.equal(await s.stop(), 0);
    }
    const access = s.stdout().split('\n').filter((l) => l.startsWith('{'));
    assert.equal((JSON.parse(access[0]!) as { path: string }).path, '/v2/models/vad', 'json from the file, info from the flag');
  } finally {
    cleanup();
  }
});

test('bad settings are all reported at once, each naming its source, exit code 2, and serve starts nothing', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'bad.toml');
    writeFileSync(file, '[serve]\nmemry_budget = "1GiB"\nport = "eighty"\nlog_format = "xml"\ntoken_read = "maybe"\nallow_host = ["bad host"]\n');
    const store = join(dir, 'never.db');
    for (const args of [['config', 'check', '--config', file], ['serve', '--config', file, '--store', store]]) {
      const r = await tessera(args, { env: { TESSERA_INSTANCES: 'two' } });
      assert.equal(r.code, 2, r.stderr);
      const line = r.stderr.trim();
      assert.equal(line.split('\n').length, 1, 'one line');
      assert.match(line, /^tessera: 6 problems in tessera serve's settings: /);
      for (const want of [/bad\.toml: serve\.memry_budget: unknown setting; did you mean "memory_budget"\?/, /bad\.toml: serve\.port: expected a port from 0 to 65535, got "eighty"/,
        /bad\.toml: serve\.log_format: expected one of text, json, got "xml"/, /bad\.toml: serve\.token_read: expected true or false, got "maybe"/,
        /bad\.toml: serve\.allow_host: --allow-host "bad host"/, /TESSERA_INSTANCES=two: expected a positive integer/]) {
        assert.match(line, want);
      }
    }
    const { existsSync } = await import('node:fs');
    assert.equal(existsSync(store), false, 'the store was not opened');
    writeFileSync(file, '[serve\nport = 1\n');
    let r = await tessera(['config', 'check', '--config', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.toml:1:\d+: not valid TOML/);
    writeFileSync(file, '[server]\nport = 1\n');
    r = await tessera(['config', 'check', '--config', file]);
    assert.match(r.stderr, /unknown table or key "server" \(settings go in \[serve\]\)/);
    writeFileSync(file, `# ${'x'.repeat(1 << 20)}\n`);
    r = await tessera(['config', 'check', '--config', file]);
    assert.match(r.stderr, /too large for a config file/);
    r = await tessera(['config', 'check', '--config', join(dir, 'missing.toml')]);
    assert.match(r.stderr, /missing\.toml: cannot read the config file: no such file/);
  } finally {
    cleanup();
  }
});

test('the README\'s table of serve settings is the one made from their definitions; every ServeOptions field has a setting', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  assert.equal(readme, withTable(readme), 'README.md is out of date: run `npm run docs`');
  for (const s of SERVE_SETTINGS) {
    assert.ok(readme.includes(`| \`${s.flag}\` | \`${envName(s)}\` | \`${fileKey(s)}\` |`), s.flag);
    assert.ok(s.doc.length > 20 && !s.doc.includes('\n'), `${s.flag}: a one-paragraph description`);
  }
  // ServeOptions the CLI does not set on purpose: the sinks (the CLI makes them from log-format and access-log).
  const cliless = new Set(['log', 'accessLog']);
  const named = new Set(['host', 'port', 'memoryBudget', 'chunkCacheBytes', 'maxBodyBytes', 'maxUploadBytes', 'maxJsonDepth', 'token', 'tokenRead', 'allowHosts', 'allowOrigins',
    'maxConnections', 'maxInflightBytes', 'intraOpThreads', 'instances', 'shutdownGraceMs', 'headersTimeoutMs', 'requestTimeoutMs', 'sendTimeoutMs', 'logLevel', 'logFormat']);
  for (const key of Object.keys(DEFAULT_SERVE_OPTIONS)) assert.ok(named.has(key) || cliless.has(key), `ServeOptions.${key} is accounted for`);
});
