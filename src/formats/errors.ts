import { TesseraError } from '../errors.js';

/**
 * A file that a reader rejects (invalid input). The message names the file
 * and the cause, and the CLI prints it as one line.
 */
export class FormatError extends TesseraError {
  constructor(readonly file: string, readonly cause_: string) {
    super('invalid', `${file}: ${cause_}`);
    this.name = 'FormatError';
  }
}
