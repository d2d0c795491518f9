import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_LINE, RateLimitedLog, oneLine } from '../../src/serve/log.js';

test('the log prints the first lines of each kind per window, then one line counting the rest', async () => {
  const out: string[] = [];
  const log = new RateLimitedLog((l) => out.push(l), { lines: 3, windowMs: 200 });
  for (let i = 0; i < 10; i++) log.write('inference', `failed ${i}`);
  log.write('error', 'an error');
  assert.deepEqual(out, ['failed 0', 'failed 1', 'failed 2', 'an error'], 'each kind has its own allowance');
  await sleep(300);
  assert.deepEqual(out.slice(4), ['… 7 more "inference" lines suppressed (at most 3 per 0.2 s)'], 'the count comes when the window ends; a kind that suppressed nothing says nothing');
  log.write('inference', 'failed again');
  log.write('inference', 'x');
  log.write('inference', 'y');
  log.write('inference', 'z');
  assert.equal(out.at(-1), 'y', 'a new window prints again');
  log.flush();
  assert.equal(out.at(-1), '… 1 more "inference" line suppressed (at most 3 per 0.2 s)', 'flush reports at once');
  log.flush();
  assert.equal(out.length, 9, 'nothing left to report');
});

test('a log line is one printable line of bounded length', () => {
  assert.equal(oneLine('a\nb\r\u0000c\u2028d\te'), 'a\\nb\\u000d\\u0000c\\u2028d\\te');
  const long = oneLine('x'.repeat(MAX_LINE + 50));
  assert.ok(long.startsWith('x'.repeat(MAX_LINE) + '…'));
  assert.match(long, /\(50 more characters\)$/);
  assert.equal(oneLine('é✓ plain'), 'é✓ plain');
});
