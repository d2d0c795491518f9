/**
 * The server's log as an operator sees it (server-log.ts): a line per request
 * in the Common Log Format or JSON, the request id in the response and in
 * every line logged while handling it, levels, an access log file reopened
 * on SIGHUP, and onnxruntime's own lines taken into the log at debug.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { VAD_MODELS, tempDir } from '../helpers/store-fixtures.js';
import { BIN, spawnServe } from './child-server.js';
import type { ChildServer } from './child-server.js';
import { postJson } from './helpers.js';
import { clfTime, formatAccess } from '../../src/serve/server-log.js';
import { parseNativeLine } from '../../src/serve/stderr-capture.js';

// Runs in onnxruntime and fails there: a batch of 2 with a recurrent state for 1.
const failing = {
  inputs: [
    { name: 'input', shape: [2, 512], datatype: 'FP32', data: new Array<number>(1024).fill(0.01) },
    { name: 'state', shape: [2, 1, 128], datatype: 'FP32', data: new Array<number>(256).fill(0) },
    { name: 'sr', shape: [], datatype: 'INT64', data: [16000] },
  ],
};

function storeWithVad(dir: string): string {
  const store = join(dir, 'store.db');
  const r = spawnSync(process.execPath, [BIN, 'import', VAD_MODELS[1]!, '--name', 'vad', '--store', store], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return store;
}

/** Lines a server printed after its start-up banner (stdout) or at all (stderr), once it has stopped. */
async function stopped(s: ChildServer): Promise<{ access: string[]; events: string[] }> {
  assert.equal(await s.stop(), 0);
  const access = s.stdout().split('\n').filter((l) => l && !/^(tessera:|dashboard:|try:)/.test(l));
  return { access, events: s.stderr().split('\n').filter(Boolean) };
}

test('access log, text: a Common Log Format line per request with duration, model, request id and user agent; the id is in the response and in the lines logged meanwhile', async () => {
  const { dir, cleanup } = tempDir();
  let s: ChildServer | undefined;
  try {
    s = await spawnServe(['--port', '0', '--store', storeWithVad(dir)]);
    const meta = await fetch(`${s.url}/v2/models/vad`, { headers: { 'x-request-id': 'client-chosen.42', 'user-agent': 'test "agent"' } });
    assert.equal(meta.status, 200);
    assert.equal(meta.headers.get('x-request-id'), 'client-chosen.42', 'a usable client id is kept');
    const bad = await fetch(`${s.url}/v2/health/live`, { headers: { 'x-request-id': 'has spaces and "quotes"' } });
    const generated = bad.headers.get('x-request-id')!;
    assert.match(generated, /^[0-9a-f]{12}-[0-9a-z]+$/, 'an unusable one is replaced');
    const failed = await postJson(`${s.url}/v2/models/vad/infer`, failing);
    assert.equal(failed.status, 400);
    const failedId = failed.headers.get('x-request-id')!;
    assert.equal((await fetch(`${s.url}/nope?x=1`)).status, 404);
    const { access, events } = await stopped(s);
    assert.equal(access.length, 4, access.join('\n'));
    assert.match(access[0]!, /^127\.0\.0\.1 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/v2\/models\/vad HTTP\/1\.1" 200 \d+ [\d.]+ms vad rid=client-chosen\.42 "test \\"agent\\""$/);
    assert.match(access[1]!, new RegExp(`"GET /v2/health/live HTTP/1.1" 200 \\d+ [\\d.]+ms - rid=${generated} `));
    assert.match(access[2]!, new RegExp(`"POST /v2/models/vad/infer HTTP/1.1" 400 \\d+ [\\d.]+ms vad rid=${failedId} `));
    assert.match(access[3]!, /"GET \/nope\?x=1 HTTP\/1\.1" 404 /);
    // The failed inference's own line names its request; the load, the request that caused it.
    assert.ok(events.some((l) => l.startsWith('tessera serve: vad:1: inference failed') && l.endsWith(`(request ${failedId})`)), events.join('\n'));
    assert.ok(events.some((l) => /^tessera serve: loaded vad:1 in \d+ ms .*\(request client-chosen\.42\)$/.test(l)), events.join('\n'));
  } finally {
    s?.kill();
    cleanup();
  }
});

test('access log, json: one object a line on stdout, events as objects on stderr; --log-level warn drops access and load lines, error drops failed inferences', async () => {
  const { dir, cleanup } = tempDir();
  let s: ChildServer | undefined;
  try {
    const store = storeWithVad(dir);
    s = await spawnServe(['--port', '0', '--store', store, '--log-format', 'json']);
    await fetch(`${s.url}/v2/models/vad`);
    const failed = await postJson(`${s.url}/v2/models/vad/infer`, failing);
    let out = await stopped(s);
    const lines = out.access.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.map((l) => [l.kind, l.level, l.method, l.path, l.status, l.model]), [
      ['access', 'info', 'GET', '/v2/models/vad', 200, 'vad'], ['access', 'info', 'POST', '/v2/models/vad/infer', 400, 'vad']]);
    for (const l of lines) {
      assert.ok(typeof l.duration_ms === 'number' && typeof l.bytes === 'number' && (l.bytes as number) > 0 && typeof l.request_id === 'string');
      assert.ok(!Number.isNaN(Date.parse(l.time as string)));
    }
    const events = out.events.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(events.some((e) => e.kind === 'inference' && e.level === 'warn' && e.request_id === failed.headers.get('x-request-id')), out.events.join('\n'));
    assert.ok(events.some((e) => e.kind === 'model' && e.level === 'info'));

    s = await spawnServe(['--port', '0', '--store', store, '--log-level', 'warn']);
    await fetch(`${s.url}/v2/models/vad`);
    await postJson(`${s.url}/v2/models/vad/infer`, failing);
    out = await stopped(s);
    assert.deepEqual(out.access, []);
    assert.ok(!out.events.some((l) => /loaded vad/.test(l)) && out.events.some((l) => /inference failed/.test(l)), out.events.join('\n'));

    s = await spawnServe(['--port', '0', '--store', store, '--log-level', 'error']);
    await postJson(`${s.url}/v2/models/vad/infer`, failing);
    out = await stopped(s);
    assert.deepEqual(out.events, []);
  } finally {
    s?.kill();
    cleanup();
  }
});

test('--access-log FILE appends there and opens it again on SIGHUP (logrotate); --log-level debug takes onnxruntime\'s own lines into the log', async () => {
  const { dir, cleanup } = tempDir();
  let s: ChildServer | undefined;
  try {
    const file = join(dir, 'access.log');
    s = await spawnServe(['--port', '0', '--store', storeWithVad(dir), '--access-log', file, '--log-level', 'debug', '--log-format', 'json']);
    await fetch(`${s.url}/v2/health/live`);
    await sleep(100);
    renameSync(file, `${file}.1`);
    process.kill(s.pid, 'SIGHUP');
    await sleep(200);
    await postJson(`${s.url}/v2/models/vad/infer`, failing);
    const { access, events } = await stopped(s);
    assert.deepEqual(access, [], 'nothing on stdout');
    assert.equal(readFileSync(`${file}.1`, 'utf8').trim().split('\n').length, 1);
    const after = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { path: string });
    assert.deepEqual(after.map((l) => l.path), ['/v2/models/vad/infer']);
    // onnxruntime's logger wrote to fd 2 from a runtime thread; the log parsed it into a line of its own.
    const ort = events.map((l) => JSON.parse(l) as { kind: string; msg: string }).filter((e) => e.kind === 'onnxruntime');
    assert.ok(ort.length > 0 && ort.every((e) => /^onnxruntime (error|warning) \(\S+:\d+ \w+\): /.test(e.msg)), events.join('\n'));
  } finally {
    s?.kill();
    cleanup();
  }
});

test('log lines: the Common Log Format time, quoting of what clients choose, onnxruntime\'s lines parsed', () => {
  assert.equal(clfTime(Date.UTC(2026, 11, 8, 1, 2, 3)), '08/Dec/2026:01:02:03 +0000');
  const line = formatAccess({ start: Date.UTC(2026, 0, 2, 3, 4, 5), client: '::1', method: 'GET', url: '/a"b\nc', httpVersion: '1.1', status: 200, bytes: 10,
    durationMs: 1.234, requestId: 'r1', userAgent: 'x"y' }, 'text');
  assert.equal(line, '::1 - - [02/Jan/2026:03:04:05 +0000] "GET /a\\"b\\\\nc HTTP/1.1" 200 10 1.23ms - rid=r1 "x\\"y"');
  assert.deepEqual(parseNativeLine('2026-12-08 01:01:22.192 [E:onnxruntime:, sequential_executor.cc:671 ExecuteKernel] Non-zero status'),
    { kind: 'onnxruntime', text: 'onnxruntime error (sequential_executor.cc:671 ExecuteKernel): Non-zero status' });
  assert.deepEqual(parseNativeLine('\u001b[0;93m2026-12-08 01:01:22.192 [W:onnxruntime:id, graph.cc:1 F] w\u001b[m'), { kind: 'onnxruntime', text: 'onnxruntime warning (graph.cc:1 F): w' });
  assert.deepEqual(parseNativeLine('something else'), { kind: 'stderr', text: 'something else' });
});
