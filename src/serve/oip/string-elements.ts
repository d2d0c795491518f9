import { invalid } from '../../errors.js';
import { decodeUtf8 } from './utf8.js';

/**
 * BYTES elements as onnxruntime-node can carry them. The protocol's BYTES are
 * any bytes; onnxruntime-node's string tensors are not (measured with 1.30,
 * test/serve/hostile-bytes.test.ts):
 *
 * - in, elements are JavaScript strings that the binding turns into UTF-8 and
 *   hands to onnxruntime as C strings: an element is cut at its first NUL, and
 *   a lone surrogate becomes U+FFFD. Bytes that are not UTF-8 cannot be
 *   expressed at all.
 * - out, elements come back whole (NUL included), but the binding decodes them
 *   as UTF-8, replacing whatever is not UTF-8 with U+FFFD.
 *
 * So an input element must be UTF-8 text (Unicode scalar values) without NUL,
 * or the request is refused naming the element; and an output element that
 * holds U+FFFD is refused, since it cannot be told from a replacement.
 */

// With the u flag a surrogate pair is one code point, so this matches only unpaired surrogates.
const LONE_SURROGATE = /[\ud800-\udfff]/u;

const NUL_REASON = "onnxruntime's string tensors end an element at NUL, so it would reach the model cut short";

const codeOf = (s: string, at: number): string => `U+${s.charCodeAt(at).toString(16).toUpperCase().padStart(4, '0')}`;

/** A BYTES element given as a JSON string. */
export function stringFromJson(s: string, what: string, i: number): string {
  const lone = s.search(LONE_SURROGATE);
  if (lone >= 0) {
    throw invalid(`${what}: BYTES element ${i} holds a lone surrogate ${codeOf(s, lone)} at character ${lone}, which is not a Unicode character and has no UTF-8 form`);
  }
  const nul = s.indexOf('\0');
  if (nul >= 0) throw invalid(`${what}: BYTES element ${i} holds NUL at character ${nul}; ${NUL_REASON}`);
  return s;
}

/** A BYTES element given as binary data. */
export function stringFromBytes(bytes: Uint8Array, what: string, i: number): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw invalid(`${what}: BYTES element ${i} holds NUL at byte ${nul}; ${NUL_REASON}`);
  const s = decodeUtf8(bytes);
  if (s === undefined) throw invalid(`${what}: BYTES element ${i} is not valid UTF-8; onnxruntime's string tensors hold UTF-8 text only`);
  return s;
}

/** An output's string elements, refused (an internal error, 500) when one may have been altered on its way out of onnxruntime. */
export function checkOutputStrings(data: readonly string[], name: string): void {
  for (let i = 0; i < data.length; i++) {
    const at = data[i]!.indexOf('\ufffd');
    if (at >= 0) {
      throw new Error(`output "${name}": BYTES element ${i} holds U+FFFD at character ${at}: onnxruntime-node puts U+FFFD in place of bytes that are not UTF-8, `
        + 'so the element may not be what the model produced; refused rather than answered altered');
    }
  }
}
