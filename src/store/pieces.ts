import type { BlockSource } from '../io/file-source.js';
import type { Segment } from '../formats/segment.js';
import { FastCdc } from '../chunking/fastcdc.js';
import { fixedChunks } from '../chunking/fixed.js';
import type { CdcParams } from '../chunking/fastcdc.js';
import type { BlockSink } from '../io/parallel-hash.js';

/** How many bytes one read takes. Big enough to amortize syscalls, small enough to stay cache-friendly. */
const READ_BLOCK = 8 << 20;

/**
 * One chunk-to-be: a slice of a file, with the segment it belongs to. `data`
 * may point into a reused read buffer: it is valid until the next batch is
 * requested, so whoever keeps it longer copies it.
 */
export interface Piece {
  segment: number;
  /** Index of the piece within its segment. */
  index: number;
  data: Buffer;
}

/**
 * Cuts a file into pieces along its segments: tensor segments into fixed
 * pieces of `chunkSize` counted from the tensor's first byte, literal segments
 * by FastCDC (restarted per segment, so a literal's chunks do not depend on
 * what precedes it). Reads the file in blocks; yields pieces in file order in
 * batches, one batch per block read. Every block is read into a buffer from
 * `sink` and handed back to it, in file order (the blocks cover the file
 * exactly once), so the sink can hash the whole file alongside.
 */
export function* filePieces(
  src: BlockSource, segments: Segment[], chunkSize: number, cdc: Partial<CdcParams> | undefined, sink: BlockSink,
): Generator<Piece[]> {
  const read = (offset: number, length: number): Buffer => {
    const block = src.readInto(sink.alloc(length), offset);
    sink.take(block);
    return block;
  };
  const perBlock = Math.max(1, Math.floor(READ_BLOCK / chunkSize)) * chunkSize;
  for (let si = 0; si < segments.length; si++) {
    const seg = segments[si]!;
    if (seg.length === 0) continue;
    if (seg.kind === 'tensor') {
      let index = 0;
      for (let off = 0; off < seg.length; off += perBlock) {
        const block = read(seg.offset + off, Math.min(perBlock, seg.length - off));
        const batch: Piece[] = [];
        for (const c of fixedChunks(block.length, chunkSize)) {
          batch.push({ segment: si, index: index++, data: block.subarray(c.offset, c.offset + c.length) });
        }
        yield batch;
      }
    } else {
      yield* literalPieces(read, seg, si, new FastCdc(cdc));
    }
  }
}

function* literalPieces(read: (offset: number, length: number) => Buffer, seg: Segment, si: number, cdc: FastCdc): Generator<Piece[]> {
  let index = 0;
  // Bytes of the chunk in progress that came from earlier blocks.
  let pending: Buffer[] = [];
  for (let off = 0; off < seg.length; off += READ_BLOCK) {
    const block = read(seg.offset + off, Math.min(READ_BLOCK, seg.length - off));
    const batch: Piece[] = [];
    let pos = 0;
    for (const len of cdc.push(block)) {
      const pendingLen = pending.reduce((n, b) => n + b.length, 0);
      const take = len - pendingLen;
      const data = pending.length ? Buffer.concat([...pending, block.subarray(pos, pos + take)]) : block.subarray(pos, pos + take);
      pending = [];
      pos += take;
      batch.push({ segment: si, index: index++, data });
    }
    // Copied: the block's buffer may be reused before the chunk completes.
    if (pos < block.length) pending.push(Buffer.from(block.subarray(pos)));
    if (batch.length) yield batch;
  }
  const last = cdc.finish();
  if (last > 0) yield [{ segment: si, index: index++, data: pending.length === 1 ? pending[0]! : Buffer.concat(pending) }];
}
