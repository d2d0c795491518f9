/**
 * A file that a reader rejects. The message names the file and the cause, and
 * the CLI prints it as one line.
 */
export class FormatError extends Error {
  constructor(readonly file: string, readonly cause_: string) {
    super(`${file}: ${cause_}`);
    this.name = 'FormatError';
  }
}
