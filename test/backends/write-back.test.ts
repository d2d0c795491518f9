import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WriteBack } from '../../src/backends/sqlite/write-back.js';

/** This process's open descriptors of `path`. */
function descriptorsOf(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;
}

test('write-back flushes during a long transaction through one descriptor per file, closed only when its last user lets go', { skip: process.platform !== 'linux' && 'needs /proc' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-wb-'));
  try {
    const path = join(dir, 'store.db');
    writeFileSync(path, 'x');
    const a = new WriteBack(path);
    const b = new WriteBack(path);
    const stopA = a.start();
    const stopB = b.start();
    // Both flush at least once within a few intervals.
    await new Promise((r) => setTimeout(r, 700));
    stopA();
    stopB();
    assert.equal(descriptorsOf(path), 1, 'one shared descriptor');
    // Closing it while another driver of the same file is open would drop that driver's SQLite locks.
    a.release();
    assert.equal(descriptorsOf(path), 1, 'still open for the other user');
    b.release();
    assert.equal(descriptorsOf(path), 0, 'closed with the last user');
    // A transaction shorter than the interval never opens it.
    const c = new WriteBack(path);
    c.start()();
    assert.equal(descriptorsOf(path), 0);
    c.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
