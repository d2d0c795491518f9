import { invalid } from '../../errors.js';
import { decodeUtf8 } from './utf8.js';

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
  // JSON text is UTF-8 (RFC 8259 §8.1): bytes that are not would otherwise become U+FFFD inside strings unnoticed.
  const text = decodeUtf8(buf);
  if (text === undefined) throw invalid('the JSON is not valid UTF-8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw invalid(`malformed JSON: ${(e as Error).message}`);
  }
}
