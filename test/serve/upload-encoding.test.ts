import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, createBrotliCompress, deflateSync, gzipSync } from 'node:zlib';
import { compress as zstdCompress } from 'zstd-napi';
import { randomBytes, randomWeights } from '../helpers/store-fixtures.js';
import { http, serveModels } from './helpers.js';
import type { Reply, TestServer } from './helpers.js';

/**
 * PUT honours Content-Encoding: the file stored is the decoded body (its
 * SHA-256 and size), --max-upload bounds the decoded bytes as they stream,
 * and what cannot be decoded is refused, leaving no temporary file behind.
 */

const LIMIT = 256 << 20;
const MiB = 1 << 20;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
/** Random bytes and float weights with repeated runs: compressible, but not trivially. */
const original = Buffer.concat([randomBytes(600_000, 21), Buffer.alloc(300_000, 7), randomWeights(250_000, 22), randomBytes(600_000, 21)]);
/**
 * Encoded once, before the server starts: the server runs in this process, and
 * compressing between requests (brotli's default quality takes seconds) would
 * stall it past its keep-alive timeout.
 */
const gz = gzipSync(original);
const zs = zstdCompress(original);
const br = brotliCompressSync(original, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } });
const df = deflateSync(original);

let s: TestServer;
let uploads: string;
const previousTmp = process.env.TMPDIR;
before(async () => {
  s = await serveModels([], { maxUploadBytes: LIMIT });
  // Uploads are received under os.tmpdir(), which reads TMPDIR on each call: a directory of our own shows what is left behind.
  uploads = join(s.dir, 'tmp');
  mkdirSync(uploads);
  process.env.TMPDIR = uploads;
});
after(async () => {
  if (previousTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previousTmp;
  await s.close();
});

async function put(model: string, body: Buffer, encoding?: string): Promise<Reply> {
  try {
    return await http(`${s.url}/v2/models/${model}/files/weights.bin`, { method: 'PUT', body, headers: encoding === undefined ? {} : { 'Content-Encoding': encoding } });
  } catch (e) {
    throw new Error(`PUT ${model} (${encoding ?? 'no coding'}, ${body.length} bytes): ${(e as Error).message}`, { cause: e });
  }
}

function assertNothingLeft(what: string): void {
  assert.deepEqual(readdirSync(uploads), [], `${what}: the temporary upload directory is removed`);
}

test('gzip, deflate, br and zstd uploads are stored decoded: SHA-256, size and download equal the original', async () => {
  const encoded: [string, Buffer][] = [
    ['gzip', gz],
    ['x-gzip', gz],
    ['deflate', df],
    ['br', br],
    ['zstd', zs],
    ['identity', original],
    ['GZip', gz],
    // Concatenated gzip members and zstd frames are one stream each.
    ['gzip', Buffer.concat([gzipSync(original.subarray(0, 1000)), gzipSync(original.subarray(1000))])],
    ['zstd', Buffer.concat([zstdCompress(original.subarray(0, 1000)), zstdCompress(original.subarray(1000))])],
  ];
  for (const [i, [coding, body]] of encoded.entries()) {
    const model = `enc-${i}`;
    const r = await put(model, body, coding);
    assert.equal(r.status, 201, `${coding}: ${r.body.toString()}`);
    const answer = r.json<{ sha256: string; bytes: number }>();
    assert.equal(answer.sha256, sha(original), `${coding}: the SHA-256 recorded is the decoded file's`);
    assert.equal(answer.bytes, original.length, `${coding}: the size recorded is the decoded file's`);
    const back = await http(`${s.url}/v2/models/${model}/versions/1/files/weights.bin`);
    assert.equal(sha(back.body), sha(original), `${coding}: the download is the original`);
  }
  assertNothingLeft('after the uploads');
});

test('unknown codings and stacked codings are 415; corrupt, truncated or trailing data is 400; nothing is stored or left behind', async () => {
  for (const coding of ['compress', 'x-compress', 'bzip2', 'gzip, br', 'gzip,gzip', 'identity, gzip', 'gzip;q=1']) {
    const r = await put('refused', gz, coding);
    assert.equal(r.status, 415, `${coding}: ${r.body.toString()}`);
    assert.match(r.json<{ error: string }>().error, /Content-Encoding/, coding);
  }
  const flipped = Buffer.from(gz);
  flipped[flipped.length >> 1] ^= 0xff;
  // A frame carries a checksum only when asked (the zstd CLI asks by default): without one, a flipped byte can decode to other bytes undetected.
  const zsFlipped = zstdCompress(original, { checksumFlag: true });
  zsFlipped[zsFlipped.length >> 1] ^= 0xff;
  const bad: [string, string, Buffer][] = [
    ['gzip', 'corrupt', flipped],
    ['gzip', 'not gzip at all', original],
    ['gzip', 'truncated', gz.subarray(0, gz.length - 100)],
    ['gzip', 'trailing bytes', Buffer.concat([gz, Buffer.from('and then some')])],
    ['deflate', 'trailing bytes', Buffer.concat([df, Buffer.from('xyz')])],
    ['deflate', 'raw deflate without the zlib header', gz.subarray(10)],
    ['br', 'truncated', br.subarray(0, 1000)],
    ['br', 'trailing bytes', Buffer.concat([br, Buffer.from('xyz')])],
    ['zstd', 'corrupt', zsFlipped],
    ['zstd', 'truncated', zs.subarray(0, zs.length - 10)],
    ['zstd', 'trailing bytes', Buffer.concat([zs, Buffer.from('xyz')])],
  ];
  for (const [coding, what, body] of bad) {
    const r = await put('refused', body, coding);
    assert.equal(r.status, 400, `${coding}, ${what}: ${r.body.toString()}`);
    assert.match(r.json<{ error: string }>().error, new RegExp(coding), `${coding}, ${what}`);
    assertNothingLeft(`${coding}, ${what}`);
  }
  // zstd frames are decoded with windows up to 2^27 bytes (zstd's own default limit); a larger one is past a limit: 413.
  const narrow = await put('window-27', zstdRleFrame(27, 1000), 'zstd');
  assert.equal(narrow.status, 201, narrow.body.toString());
  assert.equal(narrow.json<{ sha256: string }>().sha256, sha(Buffer.alloc(1000, 0x2a)));
  const wide = await put('refused', zstdRleFrame(28, 1000), 'zstd');
  assert.equal(wide.status, 413, wide.body.toString());
  assert.match(wide.json<{ error: string }>().error, /window over 2\^27 bytes/);
  assertNothingLeft('zstd window 2^28');
  assert.equal((await http(`${s.url}/v2/models/refused`)).status, 404, 'nothing was stored');
});

/** A zstd frame (RFC 8878) declaring a 2^windowLog window, holding one RLE block of `n` bytes 0x2a. */
function zstdRleFrame(windowLog: number, n: number): Buffer {
  // Magic, frame header descriptor 0 (no content size, not single-segment, no checksum), window descriptor: exponent windowLog - 10, mantissa 0.
  const block = 1 | (1 << 1) | (n << 3); // last block, type RLE, size n
  return Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (windowLog - 10) << 3, block & 0xff, (block >> 8) & 0xff, block >> 16, 0x2a]);
}

/** Gzip members of 1 MiB of zeros each (1 KiB apiece), `mib` of them. */
const gzipBomb = (mib: number): Buffer => Buffer.concat(new Array<Buffer>(mib).fill(gzipSync(Buffer.alloc(MiB), { level: 9 })));
/** zstd frames of 128 MiB of zeros each (4 KiB apiece). */
const zstdBomb = (gib: number): Buffer => Buffer.concat(new Array<Buffer>(gib * 8).fill(zstdCompress(Buffer.alloc(128 * MiB))));
/** One brotli stream of `gib` GiB of zeros: a few hundred bytes (quality 5 builds it fast, a MiB at a time). */
async function brotliBomb(gib: number): Promise<Buffer> {
  const zeros = Buffer.alloc(MiB);
  const parts: Buffer[] = [];
  const z = createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 5 } });
  z.on('data', (b: Buffer) => parts.push(b));
  const done = new Promise((resolve, reject) => z.once('end', resolve).once('error', reject));
  for (let i = 0; i < gib * 1024; i++) if (!z.write(zeros)) await new Promise((r) => z.once('drain', r));
  z.end();
  await done;
  return Buffer.concat(parts);
}

test('decompression bombs stop at --max-upload with 413, quickly and without buffering', async () => {
  const bombs: [string, Buffer, string][] = [
    ['gzip', gzipBomb(4096), '4 GiB'],
    ['zstd', zstdBomb(16), '16 GiB'],
    ['br', await brotliBomb(1), '1 GiB'],
  ];
  for (const [coding, body, expands] of bombs) {
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const t0 = performance.now();
    const r = await put(`bomb-${coding}`, body, coding);
    const ms = performance.now() - t0;
    clearInterval(sampler);
    const growth = peak - rss0;
    console.log(`# ${coding} bomb: ${body.length} bytes expanding to ${expands}: ${r.status} in ${ms.toFixed(0)} ms, peak RSS +${(growth / MiB).toFixed(1)} MiB`);
    assert.equal(r.status, 413, `${coding}: ${r.body.toString()}`);
    assert.match(r.json<{ error: string }>().error, new RegExp(`decoded from ${coding} is over the limit of ${LIMIT} bytes`));
    assert.ok(growth < 64 * MiB, `${coding}: RSS grew by ${(growth / MiB).toFixed(1)} MiB decoding up to ${LIMIT / MiB} MiB`);
    assert.ok(ms < 30_000, `${coding}: ${ms.toFixed(0)} ms`);
    assertNothingLeft(`${coding} bomb`);
  }
});
