/**
 * The Content-Disposition of a file download (RFC 6266). A header value is
 * bytes Node sends as Latin-1 and refuses with a control character, so the
 * file name goes twice: `filename="…"`, an ASCII fallback every client
 * reads, and `filename*=UTF-8''…` (RFC 8187), the exact name for clients
 * that read it (all current browsers, curl -J, wget). A name that needs no
 * escaping goes plain, once.
 */

/** Printable ASCII but the characters a quoted filename makes awkward: '"' and '\' (escapes), '%' (some clients percent-decode it), ';' (naive parsers split on it). */
const PLAIN = /^[\x20-\x21\x23-\x24\x26-\x3a\x3c-\x5b\x5d-\x7e]$/;

/** RFC 8187 attr-char: the bytes an ext-value may carry unencoded. */
const ATTR_CHAR = /^[A-Za-z0-9!#$&+\-.^_`|~]$/;

const isPlain = (name: string): boolean => [...name].every((c) => PLAIN.test(c));

/** The name in plain ASCII: accents dropped (café → cafe), any other character that is not plain as '_'. */
export function asciiFallback(name: string): string {
  const stripped = name.normalize('NFKD').replace(/\p{M}/gu, '');
  const out = [...stripped].map((c) => (PLAIN.test(c) ? c : '_')).join('');
  return out === '' ? 'download' : out;
}

/** UTF-8, percent-encoding every byte that is not an attr-char (RFC 8187 section 3.2.1). */
export function encodeExtValue(name: string): string {
  let out = "UTF-8''";
  for (const b of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(b);
    out += ATTR_CHAR.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** `attachment` with the file's name (the last part of its path). */
export function contentDisposition(path: string): string {
  const name = path.split('/').pop() || 'download';
  if (isPlain(name)) return `attachment; filename="${name}"`;
  return `attachment; filename="${asciiFallback(name)}"; filename*=${encodeExtValue(name)}`;
}
