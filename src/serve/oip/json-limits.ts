import { invalid } from '../../errors.js';

/**
 * Refuses JSON nested deeper than `maxDepth` before it is parsed: one pass
 * over the bytes counting brackets outside strings. Structural characters are
 * ASCII, which never occurs inside a multi-byte UTF-8 sequence, so scanning
 * bytes is exact.
 */
export function checkJsonDepth(buf: Buffer, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) throw invalid(`JSON nested deeper than ${maxDepth} levels`);
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
}

/** Parses a JSON body, refusing deep nesting first; a syntax error is a 400. */
export function parseJsonBody(buf: Buffer, maxDepth: number): unknown {
  checkJsonDepth(buf, maxDepth);
  try {
    return JSON.parse(buf.toString('utf8')) as unknown;
  } catch (e) {
    throw invalid(`malformed JSON: ${(e as Error).message}`);
  }
}
