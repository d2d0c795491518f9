/**
 * Tensor-aligned fixed-size chunking: a tensor of `length` bytes is cut into
 * pieces of `chunkSize` counted from the tensor's first byte, the last piece
 * shorter. Cutting from the tensor start (not the file start) is what makes
 * an identical tensor give identical chunks wherever it sits in a file.
 */

export interface FixedChunk {
  /** Offset of the piece from the tensor's first byte. */
  offset: number;
  length: number;
}

function check(length: number, chunkSize: number): void {
  // Tensors can exceed 4 GiB, so any safe integer length is fine.
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`fixed chunking: length must be a non-negative integer, got ${length}`);
  }
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) {
    throw new RangeError(`fixed chunking: chunkSize must be a positive integer, got ${chunkSize}`);
  }
}

/** Number of pieces (0 for an empty tensor). */
export function fixedChunkCount(length: number, chunkSize: number): number {
  check(length, chunkSize);
  return Math.ceil(length / chunkSize);
}

/**
 * The pieces in order, lazily, so a huge tensor does not need a huge array.
 * Arguments are checked at the call, not at the first next().
 */
export function fixedChunks(length: number, chunkSize: number): Generator<FixedChunk, void, undefined> {
  check(length, chunkSize);
  return pieces(length, chunkSize);
}

function* pieces(length: number, chunkSize: number): Generator<FixedChunk, void, undefined> {
  for (let offset = 0; offset < length; offset += chunkSize) {
    yield { offset, length: Math.min(chunkSize, length - offset) };
  }
}

/** Piece lengths as an array: every one chunkSize except a shorter last one. */
export function fixedChunkLengths(length: number, chunkSize: number): number[] {
  const count = fixedChunkCount(length, chunkSize);
  const lengths = new Array<number>(count).fill(chunkSize);
  if (count > 0) lengths[count - 1] = length - (count - 1) * chunkSize;
  return lengths;
}

/**
 * The pieces FixedCutter(chunkSize, phase) cuts a part of `length` bytes
 * into, as [from, to) in the whole tensor's coordinates (the part starts at
 * `phase`): the first runs to the next multiple of chunkSize, the rest are
 * whole grid cells, the last may be shorter.
 */
export function phasedPieces(phase: number, length: number, chunkSize: number): Array<[number, number]> {
  check(length, chunkSize);
  check(phase, chunkSize);
  const out: Array<[number, number]> = [];
  for (let at = phase; at < phase + length; ) {
    const end = Math.min(phase + length, (Math.floor(at / chunkSize) + 1) * chunkSize);
    out.push([at, end]);
    at = end;
  }
  return out;
}

/**
 * The streaming form, with FastCdc's interface: bytes arrive in pieces of
 * any size; push() returns the lengths of the chunks completed so far.
 */
export class FixedCutter {
  /** Bytes of the chunk in progress, counting the phase's bytes that came before. */
  private filled = 0;
  /** Of those, the ones before the first byte pushed (not part of this stream). */
  private skipped = 0;

  /** `phase`: bytes of the tensor before the first byte pushed (a part of a split tensor). */
  constructor(private readonly chunkSize: number, phase = 0) {
    check(phase, chunkSize);
    this.filled = phase % chunkSize;
    this.skipped = this.filled;
  }

  push(data: Uint8Array): number[] {
    const cuts: number[] = [];
    let left = data.length;
    while (this.filled + left >= this.chunkSize) {
      left -= this.chunkSize - this.filled;
      // With a phase, the first chunk is the rest of the grid cell.
      cuts.push(this.chunkSize - this.skipped);
      this.filled = 0;
      this.skipped = 0;
    }
    this.filled += left;
    return cuts;
  }

  /** Length of the last, shorter chunk (0 when none); resets for reuse. */
  finish(): number {
    const last = this.filled - this.skipped;
    this.filled = 0;
    this.skipped = 0;
    return last;
  }
}
