import type { BlockSource } from '../../io/file-source.js';
import type { Segment } from '../../formats/segment.js';
import { FastCdc } from '../../chunking/fastcdc.js';
import { FixedCutter } from '../../chunking/fixed.js';
import type { CdcParams } from '../../chunking/fastcdc.js';
import type { BlockSink } from '../../io/parallel-hash.js';

/** How many bytes one read takes. Big enough to amortize syscalls, small enough to stay cache-friendly. */
export const READ_BLOCK = 8 << 20;

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
 * what precedes it). The file comes in blocks (READ_BLOCK bytes, regardless of
 * where segments start, so a file of many small tensors still makes few, full
 * batches: one lookup round trip serves hundreds of tensors), in file order,
 * covering it once. A piece that spans two blocks is joined from a copy; every
 * other piece is a view into its block.
 */
export class PieceCutter {
  private si: number;
  private cutter?: Cutter;
  private index = 0;
  /** Bytes of the piece in progress that came from earlier blocks (copied: those blocks' buffers may be reused). */
  private pending: Buffer[] = [];

  constructor(private readonly segments: Segment[], private readonly chunkSize: number, private readonly cdc: Partial<CdcParams> | undefined) {
    this.si = segments.findIndex((s) => s.length > 0);
    if (this.si >= 0) this.cutter = this.cutterFor(segments[this.si]!);
  }

  private cutterFor(seg: Segment): Cutter {
    return seg.kind === 'tensor' ? new FixedCutter(this.chunkSize, seg.phase) : new FastCdc(this.cdc);
  }

  private piece(part: Buffer): Buffer {
    const data = this.pending.length ? Buffer.concat([...this.pending, part]) : part;
    this.pending = [];
    return data;
  }

  /** The pieces that end in `block`, the file's bytes from offset `off`. */
  cut(block: Buffer, off: number): Piece[] {
    const batch: Piece[] = [];
    const segments = this.segments;
    let pos = 0;
    while (pos < block.length && this.si >= 0 && this.si < segments.length) {
      const seg = segments[this.si]!;
      const cutter = this.cutter!;
      const segEnd = seg.offset + seg.length - off;
      const part = block.subarray(pos, Math.min(block.length, segEnd));
      let p = 0;
      let carried = this.pending.reduce((n, b) => n + b.length, 0);
      for (const len of cutter.push(part)) {
        batch.push({ segment: this.si, index: this.index++, data: this.piece(part.subarray(p, p + len - carried)) });
        p += len - carried;
        carried = 0;
      }
      pos += part.length;
      if (pos === segEnd) {
        // The segment ends in this block: its last, shorter piece.
        if (cutter.finish() > 0) batch.push({ segment: this.si, index: this.index++, data: this.piece(part.subarray(p)) });
        do this.si++; while (this.si < segments.length && segments[this.si]!.length === 0);
        if (this.si >= segments.length) break;
        this.cutter = this.cutterFor(segments[this.si]!);
        this.index = 0;
      } else if (p < part.length) {
        this.pending.push(Buffer.from(part.subarray(p)));
      }
    }
    return batch;
  }
}

/**
 * A file's pieces (PieceCutter), one batch per block read into a buffer from
 * `sink` and handed back to it in file order, so the sink can hash the whole
 * file alongside.
 */
export function* filePieces(
  src: BlockSource, segments: Segment[], chunkSize: number, cdc: Partial<CdcParams> | undefined, sink: BlockSink,
): Generator<Piece[]> {
  const cutter = new PieceCutter(segments, chunkSize, cdc);
  for (let off = 0; off < src.size; off += READ_BLOCK) {
    const block = src.readInto(sink.alloc(Math.min(READ_BLOCK, src.size - off)), off);
    sink.take(block);
    const batch = cutter.cut(block, off);
    if (batch.length) yield batch;
  }
}
