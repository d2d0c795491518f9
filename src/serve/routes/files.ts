import type { ServerResponse } from 'node:http';
import type { FileRow } from '../../store/store.js';
import { keyOf } from '../catalog.js';
import type { CatalogVersion } from '../catalog.js';
import type { ServeContext } from '../context.js';
import { conflict, notFound, preconditionFailed } from '../../errors.js';
import type { Router } from '../http/router.js';
import { sendJson } from '../http/respond.js';
import { blockCost, downloadCost } from '../http/inflight.js';
import { DamagedFileError } from '../../store/read/file-reader.js';
import { receiveUpload } from '../http/upload.js';
import { contentDisposition } from '../http/content-disposition.js';
import { parseRange } from '../http/range.js';
import { ifMatchFails, ifNoneMatchFails } from '../http/preconditions.js';
import { checkNewFilePath, checkNewModelName, findStoredPath, quoteName } from '../../store/names.js';
import { modelSavings } from '../../store/inspect/accounting.js';
import type { UploadResult } from '../../wire/upload.js';
import { findServable, findVersion, parseVersion } from './lookup.js';
import { MODEL } from './models.js';
import { lossyHeaders } from '../lossy.js';

function fileOf(v: CatalogVersion, path: string): FileRow {
  const f = findStoredPath(v.files, path);
  if (!f) throw notFound(`model ${keyOf(v.model)} has no file ${quoteName(path)}; its files are ${v.files.map((x) => quoteName(x.path)).join(', ')}`);
  return f;
}

/** Resolves when `res` takes more ('drain'), is gone ('close') or after `ms` without either; its listeners are removed whichever comes first. */
function drained(res: ServerResponse, ms: number): Promise<'drain' | 'close' | 'stalled'> {
  return new Promise((resolve) => {
    const done = (why: 'drain' | 'close' | 'stalled'): void => {
      clearTimeout(timer);
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(why);
    };
    const onDrain = (): void => done('drain');
    const onClose = (): void => done('close');
    const timer = setTimeout(() => done('stalled'), ms);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

/** Bytes handed to the socket at once: the stall timer below restarts after each, so it measures a client that reads (almost) nothing. */
const SLICE = 256 * 1024;

/**
 * Sends one block, waiting while the client is behind; false when the client
 * is gone. A client that takes not one slice in `stallMs` is cut off: waiting
 * on it forever would pin its connection and the blocks in flight.
 */
async function write(res: ServerResponse, b: Buffer, stallMs: number): Promise<boolean> {
  for (let at = 0; at < b.length && !res.destroyed; at += SLICE) {
    if (!res.write(b.subarray(at, at + SLICE)) && (await drained(res, stallMs)) === 'stalled') res.destroy();
  }
  return !res.destroyed;
}

/** A file's entity tag: its SHA-256, a strong validator (the bytes of a stored file never change). */
const etagOf = (file: FileRow): string => `"${file.sha256.toString('hex')}"`;

type Headers = Record<string, string | string[] | undefined>;
const header = (headers: Headers, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
};

/**
 * Sends a stored file of version `v` (GET, HEAD; Range, If-Range, If-Match,
 * If-None-Match), streamed block by block. `target` is its path (404 when
 * missing) or the file itself, found by a caller that answers a missing one
 * its own way (the Hub's routes); `extraHeaders` go out on every answer (the
 * Hub's X-Repo-Commit…).
 */
export async function download(
  ctx: ServeContext, v: CatalogVersion, target: string | FileRow, req: { headers: Headers; method?: string }, res: ServerResponse,
  extraHeaders: Record<string, string> = {},
): Promise<void> {
  const file = typeof target === 'string' ? fileOf(v, target) : target;
  const etag = etagOf(file);
  const headers: Record<string, string> = {
    ...extraHeaders,
    // A lossy version's file is its own bytes, not its lossless version's: said on every answer, 304 and HEAD included.
    ...lossyHeaders(v),
    'Content-Type': 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    ETag: etag,
    'Repr-Digest': `sha-256=:${file.sha256.toString('base64')}:`,
    'Content-Disposition': contentDisposition(file.path),
    'Cache-Control': 'no-cache',
  };
  // Preconditions in RFC 9110's order (section 13.2.2): If-Match, then If-None-Match, then Range.
  if (ifMatchFails(header(req.headers, 'if-match'), etag)) {
    res.writeHead(412, { ...headers, 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: `precondition failed: If-Match does not name the file's current ETag ${etag}` }));
    return;
  }
  if (ifNoneMatchFails(header(req.headers, 'if-none-match'), etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const ifRange = req.headers['if-range'];
  const rangeHeader = typeof req.headers.range === 'string' && (ifRange === undefined || ifRange === etag) ? req.headers.range : undefined;
  const range = parseRange(rangeHeader, file.size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'Content-Range': `bytes */${file.size}`, 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: `range ${rangeHeader} is outside the file's ${file.size} bytes` }));
    return;
  }
  const { start, end } = range ?? { start: 0, end: file.size };
  if (range) headers['Content-Range'] = `bytes ${start}-${end - 1}/${file.size}`;
  headers['Content-Length'] = String(end - start);
  // A file whose chunks do not add up is refused with a status, before any header goes out.
  await ctx.store.fileLayout(file);
  // Counted against --max-inflight before anything is sent: past it, a 503 rather than one more download's blocks held in memory.
  const hold = ctx.inflight.holdFor(res);
  if (req.method !== 'HEAD') hold.reserve(downloadCost(end - start));
  res.writeHead(range ? 206 : 200, headers);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  // A whole file is checked against its SHA-256 by the store's reader, which
  // hands on the last block only once the digest matched: on a mismatch the
  // connection is cut before the last byte, so a client never gets a complete bad file.
  let sent = 0;
  try {
    for await (const block of ctx.store.readFile(file, { start, end })) {
      hold.set(blockCost(block.length));
      if (!(await write(res, block, ctx.opts.sendTimeoutMs))) return;
      sent += block.length;
      ctx.metrics.fileBytesServed.inc(block.length);
    }
  } catch (e) {
    if (!(e instanceof DamagedFileError)) throw e;
    ctx.log('damaged', `${keyOf(v.model)}/${file.path}: reconstructed bytes do not match the file's SHA-256; the download was cut off (the store is damaged)`);
    res.destroy();
    return;
  }
  if (sent !== end - start) {
    res.destroy();
    return;
  }
  res.end();
}

/** Refuses a PUT whose If-Match or If-None-Match fails against `current`, the file GET of the same URL would answer (undefined: none). */
function preconditionsForPut(headers: Headers, current: FileRow | undefined): void {
  const etag = current && etagOf(current);
  if (ifMatchFails(header(headers, 'if-match'), etag)) {
    throw preconditionFailed(etag === undefined
      ? 'precondition failed: If-Match, but this URL holds no file yet'
      : `precondition failed: If-Match does not name the current ETag ${etag} of the file at this URL`);
  }
  if (ifNoneMatchFails(header(headers, 'if-none-match'), etag)) {
    throw preconditionFailed(`precondition failed: If-None-Match, but this URL holds the file ${etag} already`);
  }
}

async function upload(ctx: ServeContext, nameText: string | undefined, versionText: string | undefined, pathText: string, req: Parameters<typeof receiveUpload>[0], res: ServerResponse): Promise<void> {
  // A new name keeps the name policy; the path is stored (and answered) NFC.
  const name = checkNewModelName(nameText ?? '');
  const version = parseVersion(versionText);
  const path = checkNewFilePath(pathText);
  // If-Match / If-None-Match hold against what GET of this URL answers: checked before the body
  // is received (no point taking gigabytes to refuse them), on a fresh catalog (another process
  // may have imported since), and again under the write lock, where they decide.
  const checkPreconditions = (): void => {
    const v = ctx.catalog.find(name, version);
    preconditionsForPut(req.headers, v && findStoredPath(v.files, path));
  };
  if (req.headers['if-match'] !== undefined || req.headers['if-none-match'] !== undefined) {
    await ctx.catalog.refreshName(name);
    checkPreconditions();
  }
  const up = await receiveUpload(req, path, ctx.opts.maxUploadBytes);
  try {
    const result = await ctx.writes.run(async () => {
      await ctx.catalog.reloadName(name);
      checkPreconditions();
      const existing = version !== undefined ? ctx.catalog.find(name, version) : undefined;
      if (existing) {
        const same = existing.files.length === 1 && existing.files[0]!.path === path && existing.files[0]!.sha256.equals(up.sha256);
        if (!same) throw conflict(`model ${keyOf(existing.model)} already exists with other files; upload as another version or without a version`);
        return { model: existing.model, created: false };
      }
      // Messages name the file as the client sent it, not by the temporary directory it was received into.
      const r = await ctx.store.import(up.root, { name, version, relativeNames: true });
      await ctx.catalog.reloadName(name);
      return { model: r.model, created: r.created };
    });
    ctx.metrics.uploads.inc({ result: result.created ? 'created' : 'unchanged' });
    const location = `/v2/models/${encodeURIComponent(result.model.name)}/versions/${result.model.version}/files/${path.split('/').map(encodeURIComponent).join('/')}`;
    sendJson(res, result.created ? 201 : 200, {
      name: result.model.name, version: String(result.model.version), created: result.created, path, bytes: up.size, sha256: up.sha256.toString('hex'),
      // Where the file's bytes went (the same split as `tessera show`), for the uploader to report.
      savings: modelSavings(result.model),
      ...(result.created ? {} : { note: 'this version already holds this file; nothing stored' }),
    } satisfies UploadResult, { Location: location });
  } catch (e) {
    ctx.metrics.uploads.inc({ result: 'error' });
    throw e;
  } finally {
    up.cleanup();
  }
}

export function fileRoutes(router: Router, ctx: ServeContext): void {
  router.add({
    name: 'files_list', model: true, pattern: new RegExp(`^${MODEL}\\/files\\/?$`),
    methods: {
      GET: {
        handler: async ({ res, params }) => {
          const v = await findVersion(ctx, params[0], params[1]);
          sendJson(res, 200, {
            name: v.model.name, version: String(v.model.version),
            files: v.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256.toString('hex'), format: f.format })),
          });
        },
      },
    },
  });
  router.add({
    name: 'files', model: true, pattern: new RegExp(`^${MODEL}\\/files\\/(.+)$`),
    methods: {
      GET: {
        handler: async ({ req, res, params }) => {
          const v = await findServable(ctx, params[0], params[1]);
          await download(ctx, v, params[2]!, req, res);
        },
      },
      PUT: { write: true, handler: ({ req, res, params }) => upload(ctx, params[0], params[1], params[2]!, req, res) },
    },
  });
}
