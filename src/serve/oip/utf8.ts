/**
 * Strict UTF-8 decoding. Buffer#toString('utf8') replaces every invalid
 * sequence with U+FFFD without a word; data must be refused instead. The BOM
 * is kept (ignoreBOM): it is part of the data, not a marker to drop.
 */
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The text of `bytes`, or undefined when they are not UTF-8 (overlong forms, encoded surrogates, truncated or stray bytes, beyond U+10FFFF). */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}
