import type { BlockSource } from '../../io/file-source.js';
import type { Segment } from '../../formats/segment.js';
import { FastCdc } from '../../chunking/fastcdc.js';
import { FixedCutter } from '../../chunking/fixed.js';
import type { CdcParams } from '../../chunking/fastcdc.js';
import type { BlockSink } from '../../io/parallel-hash.js';

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

/** Cuts one segment's bytes as they stream by (FastCdc and FixedCutter both fit). */
interface Cutter {
  push(data: Uint8Array): number[];
  finish(): number;
}

/**
 * Cuts a file into pieces along its segments: tensor segments into fixed
 * pieces of `chunkSize` counted from the tensor's first byte, literal segments
 * by FastCDC (restarted per segment, so a literal's chunks do not depend on
 * what precedes it). The file is read in blocks of 8 MiB regardless of where
 * segments start, so a file of many small tensors still makes few, full
 * batches (one lookup round trip serves hundreds of tensors); a piece that
 * spans two blocks is joined from a copy. Every block is read into a buffer
 * from `sink` and handed back to it, in file order (the blocks cover the file
 * exactly once), so the sink can hash the whole file alongside. One batch per
 * block, pieces in file order.
 */
export function* filePieces(
  src: BlockSource, segments: Segment[], chunkSize: number, cdc: Partial<CdcParams> | undefined, sink: BlockSink,
): Generator<Piece[]> {
  const cutterFor = (seg: Segment): Cutter => (seg.kind === 'tensor' ? new FixedCutter(chunkSize, seg.phase) : new FastCdc(cdc));
  let si = segments.findIndex((s) => s.length > 0);
  if (si < 0) return;
  let cutter = cutterFor(segments[si]!);
  let index = 0;
  // Bytes of the piece in progress that came from earlier blocks (copied: those blocks' buffers may be reused).
  let pending: Buffer[] = [];
  const piece = (part: Buffer): Buffer => {
    const data = pending.length ? Buffer.concat([...pending, part]) : part;
    pending = [];
    return data;
  };
  for (let off = 0; off < src.size; off += READ_BLOCK) {
    const block = src.readInto(sink.alloc(Math.min(READ_BLOCK, src.size - off)), off);
    sink.take(block);
    const batch: Piece[] = [];
    let pos = 0;
    while (pos < block.length) {
      const seg = segments[si]!;
      const segEnd = seg.offset + seg.length - off;
      const part = block.subarray(pos, Math.min(block.length, segEnd));
      let p = 0;
      const pendingLen = pending.reduce((n, b) => n + b.length, 0);
      let carried = pendingLen;
      for (const len of cutter.push(part)) {
        batch.push({ segment: si, index: index++, data: piece(part.subarray(p, p + len - carried)) });
        p += len - carried;
        carried = 0;
      }
      pos += part.length;
      if (pos === segEnd) {
        // The segment ends in this block: its last, shorter piece.
        if (cutter.finish() > 0) batch.push({ segment: si, index: index++, data: piece(part.subarray(p)) });
        do si++; while (si < segments.length && segments[si]!.length === 0);
        if (si >= segments.length) break;
        cutter = cutterFor(segments[si]!);
        index = 0;
      } else if (p < part.length) {
        pending.push(Buffer.from(part.subarray(p)));
      }
    }
    if (batch.length) yield batch;
  }
}
