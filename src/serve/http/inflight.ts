import type { ServerResponse } from 'node:http';
import { busy } from '../../errors.js';

const MiB = 1024 * 1024;

/**
 * What a request makes the server hold, by what it sends or asks for, as
 * measured on this server (tessera serve, RSS, 8 requests at once): a JSON
 * inference body about 8 times its size (the body, its text, the parsed
 * numbers — a JavaScript number is 8 bytes or more where its text was 8 or
 * so — the tensors, the outputs and the JSON written back: 7.1 MB bodies held
 * 54 MiB each), binary tensor data about twice (the body and the output:
 * 8 MB bodies held 10.6 MiB); a download three blocks of the store's reader
 * (the chunks it gathered, the block it holds back until the next is decoded,
 * and the one being sent: 14 MiB each for a 64 MiB file read in 4 MiB blocks).
 */
const JSON_FACTOR = 8;
const BINARY_FACTOR = 2;
const DOWNLOAD_FACTOR = 3;
/** The store's reader hands on blocks of at most 8 MiB: what a download is first counted for, before its first block tells. */
const FIRST_BLOCK = 8 * MiB;

/** An inference body of `bytes`, the first `jsonBytes` of them JSON (all of them without the binary extension). */
export function bodyCost(bytes: number, jsonBytes = bytes): number {
  const json = Math.min(bytes, jsonBytes);
  return json * JSON_FACTOR + (bytes - json) * BINARY_FACTOR;
}

/** A download of `bytes`, counted for its first block. */
export function downloadCost(bytes: number): number {
  return Math.min(bytes, FIRST_BLOCK) * DOWNLOAD_FACTOR;
}

/** A download sending a block of `bytes`. */
export function blockCost(bytes: number): number {
  return bytes * DOWNLOAD_FACTOR;
}

/**
 * The bytes held for requests in flight, against --max-inflight: request
 * bodies read into memory and the blocks of downloads whose clients are
 * behind. A request is let in only if what it will hold fits beside what the
 * others hold (503 with Retry-After otherwise, before it holds anything); one
 * alone is always let in, so that a request bigger than the cap is slow
 * rather than impossible. Once in, a request is not stopped half way: what it
 * holds is then counted, whatever the total.
 */
export class InflightBytes {
  private used = 0;

  constructor(readonly limit: number) {
    if (!(limit > 0)) throw new Error(`--max-inflight must be more than 0 bytes, not ${limit}`);
  }

  get held(): number {
    return this.used;
  }

  /** A hold for the request answered by `res`, released when the response closes (sent, or the client gone). */
  holdFor(res: ServerResponse): Hold {
    const hold = new Hold(this);
    res.once('close', () => hold.release());
    return hold;
  }

  /** @internal Moves the total by `delta`; refuses growth past the limit unless `others` hold nothing (or `force`). */
  shift(delta: number, mine: number, force: boolean): boolean {
    if (!force && delta > 0 && this.used - mine > 0 && this.used + delta > this.limit) return false;
    this.used += delta;
    return true;
  }
}

/** What one request holds. */
export class Hold {
  private bytes = 0;
  private released = false;

  constructor(private readonly pool: InflightBytes) {}

  /** Grows to at least `bytes`, or throws 503 when that does not fit beside the other requests. */
  reserve(bytes: number): void {
    if (this.released || bytes <= this.bytes) return;
    if (!this.pool.shift(bytes - this.bytes, this.bytes, false)) {
      throw busy(`the server is holding ${(this.pool.held / MiB).toFixed(0)} MiB for requests in flight, its limit (--max-inflight) is `
        + `${(this.pool.limit / MiB).toFixed(0)} MiB, and this request would need ${(bytes / MiB).toFixed(1)} MiB more; try again in a moment`);
    }
    this.bytes = bytes;
  }

  /** Holds `bytes` from now on, whatever the total: a request under way goes on. */
  set(bytes: number): void {
    if (this.released) return;
    this.pool.shift(bytes - this.bytes, this.bytes, true);
    this.bytes = bytes;
  }

  release(): void {
    this.set(0);
    this.released = true;
  }
}
