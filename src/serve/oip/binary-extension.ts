import { invalid } from '../../errors.js';

/**
 * Triton's binary tensor data extension (see binary-extension.md): the body
 * is a JSON header of `Inference-Header-Content-Length` bytes followed by the
 * binary data of the inputs that carry `parameters.binary_data_size`, in the
 * order those inputs appear in the header.
 */

export const HEADER_LENGTH = 'inference-header-content-length';

export interface SplitBody {
  json: Buffer;
  binary: Buffer;
}

/** Splits a request body by the header length (absent or 0: the whole body is JSON). */
export function splitRequestBody(body: Buffer, headerLength: string | string[] | undefined): SplitBody {
  if (headerLength === undefined) return { json: body, binary: body.subarray(body.length) };
  const text = Array.isArray(headerLength) ? headerLength[0] ?? '' : headerLength;
  if (!/^[0-9]{1,15}$/.test(text.trim())) throw invalid(`Inference-Header-Content-Length must be a non-negative integer, got "${text}"`);
  const n = Number(text.trim());
  if (n === 0) return { json: body, binary: body.subarray(body.length) };
  if (n > body.length) throw invalid(`Inference-Header-Content-Length is ${n}, the body has only ${body.length} bytes`);
  return { json: body.subarray(0, n), binary: body.subarray(n) };
}

/** Hands out consecutive slices of the binary part; `finish` checks that every byte was claimed. */
export class BinaryCursor {
  private pos = 0;

  constructor(private readonly binary: Buffer) {}

  /** The next `size` bytes; `size` is the request's `binary_data_size` as parsed, which must be a JSON number (not a numeric string). */
  take(size: unknown, what: string): Buffer {
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw invalid(`${what}: parameters.binary_data_size must be a non-negative integer (a JSON number), got ${JSON.stringify(size)}`);
    }
    if (this.pos + size > this.binary.length) {
      throw invalid(`${what}: binary_data_size ${size} runs past the end of the binary data (${this.binary.length - this.pos} bytes left)`);
    }
    const out = this.binary.subarray(this.pos, this.pos + size);
    this.pos += size;
    return out;
  }

  finish(): void {
    if (this.pos !== this.binary.length) {
      throw invalid(`the body has ${this.binary.length} bytes of binary data after the JSON header, the inputs' binary_data_size add up to ${this.pos}`);
    }
  }
}

/** A response body: JSON header then the binary outputs, and the header's length for `Inference-Header-Content-Length`. */
export function binaryResponse(headerJson: string, outputs: Buffer[]): { body: Buffer[]; headerLength: number; length: number } {
  const head = Buffer.from(headerJson, 'utf8');
  let length = head.length;
  for (const b of outputs) length += b.length;
  return { body: [head, ...outputs], headerLength: head.length, length };
}
