/**
 * Generators of names a hostile (or merely unlucky) client sends: control
 * characters of every class, Unicode that needs escaping in headers, NFC/NFD
 * pairs, strings of an exact UTF-8 length. Small and deterministic, for the
 * name policy's tests and for generated hostile-client suites.
 */

export type ControlClass = 'C0' | 'DEL' | 'C1';

/** Every control character (C0 U+0000–U+001F, DEL U+007F, C1 U+0080–U+009F), with its class. */
export function controlChars(): { cls: ControlClass; ch: string }[] {
  const out: { cls: ControlClass; ch: string }[] = [];
  for (let c = 0x00; c <= 0x1f; c++) out.push({ cls: 'C0', ch: String.fromCharCode(c) });
  out.push({ cls: 'DEL', ch: '\u007f' });
  for (let c = 0x80; c <= 0x9f; c++) out.push({ cls: 'C1', ch: String.fromCharCode(c) });
  return out;
}

/** `U+XXXX` of a character, for assertion messages. */
export const codePoint = (ch: string): string => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** The same text composed (NFC) and decomposed (NFD): Latin accents, Hangul, a Vietnamese stack of marks. */
export const NFC_NFD_PAIRS: [nfc: string, nfd: string][] = ['café', 'Ångström', 'naïve', '한국어', 'Việt', 'ñandú'].map((s) => [s.normalize('NFC'), s.normalize('NFD')]);

/** File names that are fine to store but need RFC 8187 encoding (or escaping) in a Content-Disposition header. */
export const AWKWARD_FILE_NAMES = [
  'café.onnx', '模型.onnx', '🤖 robot.bin', 'Ελληνικά.bin', 'עברית.bin', 'a"quoted".bin', '100%.bin', '50%41.bin',
  'semi;colon.bin', "it's (1).bin", 'star*.bin', 'space in name.bin', 'tab\u00a0nbsp.bin', 'ends with dot.',
];

/** A string of exactly `bytes` UTF-8 bytes, built of 1-, 2-, 3- and 4-byte characters (so a check that counts characters fails). */
export function utf8OfLength(bytes: number): string {
  const parts = ['𝄞', '模', 'é'];
  let s = '';
  let n = 0;
  for (const p of parts) {
    const len = Buffer.byteLength(p);
    while (bytes - n >= len + 1) {
      s += p;
      n += len;
    }
  }
  return s + 'a'.repeat(bytes - n);
}

/** Model names that would shadow other URLs or break the structure of a name: every reserved word at the start, middle and end, empty, '.' and '..' parts, slashes at the ends. */
export function shadowingModelNames(reserved: readonly string[]): string[] {
  return [
    'a/files/b', 'x/versions/1', 'trail/', 'a//b', '/lead', 'a/./b', 'a/.', './a', 'a/../b', '..', 'a/..',
    ...reserved.flatMap((w) => [w, `m/${w}`, `${w}/m`, `m/${w}/n`]),
  ];
}
