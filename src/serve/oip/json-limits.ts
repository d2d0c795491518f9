import { invalid } from '../../errors.js';
import { decodeUtf8 } from './utf8.js';

/** The characters the depth check looks at: brackets, and what starts or escapes within a string. */
const STRUCTURAL = /[[\]{}"\\]/g;

/**
 * Refuses JSON nested deeper than `maxDepth` before it is parsed (V8 parses
 * any depth, but a body of brackets costs seconds): one pass counting
 * brackets outside strings. The scan jumps from one structural character to
 * the next with a regular expression, ~3x faster than a loop over every
 * byte on a body of numbers (measured: 0.24 against 0.61 ms for a 355 KB
 * inference request).
 */
export function checkJsonDepth(text: string, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  STRUCTURAL.lastIndex = 0;
  for (let m = STRUCTURAL.exec(text); m !== null; m = STRUCTURAL.exec(text)) {
    const c = text.charCodeAt(m.index);
    if (inString) {
      if (c === 0x5c) STRUCTURAL.lastIndex = m.index + 2; // backslash: skip the escaped character
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
  // JSON text is UTF-8 (RFC 8259 §8.1): bytes that are not would otherwise become U+FFFD inside strings unnoticed.
  const text = decodeUtf8(buf);
  if (text === undefined) throw invalid('the JSON is not valid UTF-8');
  checkJsonDepth(text, maxDepth);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw invalid(`malformed JSON: ${(e as Error).message}`);
  }
}
