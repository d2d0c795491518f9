import { TesseraError } from '../errors.js';

/** A payload that cannot be decoded (corrupt, truncated, wrong codec id, missing base): stored bytes are damaged. */
export class CodecError extends TesseraError {
  constructor(message: string) {
    super('damaged', message);
    this.name = 'CodecError';
  }
}
