/**
 * A Hugging Face client's snapshot download of a model beside the plain
 * download of the same file from the same server (issue 17's target: the
 * snapshot at >= 80% of the plain speed). Both write the file to disk, as a
 * user's download does; rounds alternate the two, medians reported.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { snapshotDownload } from '@huggingface/hub';
import { median } from './units.js';

export interface HubDownload {
  bytes: number;
  /** Seconds per round: GET of the file through Tessera's own URL into a file. */
  plainS: number[];
  /** Seconds per round: @huggingface/hub snapshotDownload of the repo into an empty cache directory. */
  snapshotS: number[];
  /** Median snapshot speed over median plain speed. */
  ratio: number;
}

export async function measureHubDownload(base: URL, repo: string, filePath: string, bytes: number, tmp: string, rounds: number): Promise<HubDownload> {
  const plainS: number[] = [];
  const snapshotS: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const dir = mkdtempSync(join(tmp, 'hub-dl-'));
    try {
      let t0 = performance.now();
      const res = await fetch(new URL(filePath, base));
      if (!res.ok || !res.body) throw new Error(`GET ${filePath}: ${res.status}`);
      await pipeline(Readable.fromWeb(res.body as ReadableStream), createWriteStream(join(dir, 'plain.bin')));
      plainS.push((performance.now() - t0) / 1000);
      rmSync(join(dir, 'plain.bin'));
      t0 = performance.now();
      await snapshotDownload({ repo, hubUrl: base.origin, cacheDir: join(dir, 'cache') });
      snapshotS.push((performance.now() - t0) / 1000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { bytes, plainS, snapshotS, ratio: median(plainS) / median(snapshotS) };
}
