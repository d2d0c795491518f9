/** A payload that cannot be decoded (corrupt, truncated, wrong codec id, missing base). */
export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}
