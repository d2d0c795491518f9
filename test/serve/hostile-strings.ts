/**
 * Hostile and awkward BYTES elements, by class, for the server's string
 * tests (and for generated hostile-client suites): each case is named so a
 * failure says which class broke.
 */

export interface ByteCase {
  name: string;
  bytes: Buffer;
}

export interface TextCase {
  name: string;
  text: string;
}

const b = (...xs: (number | string)[]): Buffer => Buffer.concat(xs.map((x) => (typeof x === 'string' ? Buffer.from(x, 'utf8') : Buffer.from([x]))));

/** `core` alone, and with text before and after it (start, middle and end of an element). */
function placed(name: string, core: Buffer): ByteCase[] {
  return [
    { name: `${name} alone`, bytes: core },
    { name: `${name} at the start`, bytes: Buffer.concat([core, b('abc')]) },
    { name: `${name} in the middle`, bytes: Buffer.concat([b('ab'), core, b('cd')]) },
    { name: `${name} at the end`, bytes: Buffer.concat([b('abc'), core]) },
  ];
}

/** Byte strings that are not UTF-8, one or more per class of error (Unicode 15, table 3-7). */
export function invalidUtf8Cases(): ByteCase[] {
  const cores: [string, Buffer][] = [
    ['lone continuation byte 0x80', b(0x80)],
    ['lone continuation byte 0xbf', b(0xbf)],
    ['two continuation bytes', b(0x80, 0x80)],
    ['overlong "/" (c0 af)', b(0xc0, 0xaf)],
    ['overlong NUL (c0 80, modified UTF-8)', b(0xc0, 0x80)],
    ['overlong 3-byte "/" (e0 80 af)', b(0xe0, 0x80, 0xaf)],
    ['overlong 4-byte "/" (f0 80 80 af)', b(0xf0, 0x80, 0x80, 0xaf)],
    ['surrogate U+D800 encoded (ed a0 80)', b(0xed, 0xa0, 0x80)],
    ['surrogate U+DFFF encoded (ed bf bf)', b(0xed, 0xbf, 0xbf)],
    ['surrogate pair encoded separately (CESU-8)', b(0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80)],
    ['truncated 2-byte sequence', b(0xc3)],
    ['truncated 3-byte sequence', b(0xe2, 0x9c)],
    ['truncated 4-byte sequence', b(0xf0, 0x9f, 0x98)],
    ['lead byte followed by ASCII', b(0xe2, 'a')],
    ['beyond U+10FFFF (f4 90 80 80)', b(0xf4, 0x90, 0x80, 0x80)],
    ['5-byte form (f8 88 80 80 80)', b(0xf8, 0x88, 0x80, 0x80, 0x80)],
    ['byte 0xfe', b(0xfe)],
    ['byte 0xff', b(0xff)],
  ];
  return cores.flatMap(([name, core]) => placed(name, core));
}

/** Valid UTF-8 holding NUL (U+0000). */
export function nulCases(): ByteCase[] {
  return [...placed('NUL', b(0)), { name: 'only NULs', bytes: b(0, 0, 0) }];
}

/** JavaScript strings with unpaired surrogates: JSON can spell them (`"\ud800"`), but they are not Unicode scalar values and have no UTF-8 form. */
export function loneSurrogateCases(): TextCase[] {
  return [
    { name: 'lone high surrogate', text: '\ud800' },
    { name: 'lone low surrogate', text: '\udc00' },
    { name: 'high surrogate at the end', text: 'abc\udbff' },
    { name: 'low surrogate at the start', text: '\udfffabc' },
    { name: 'reversed pair', text: '\udc00\ud800' },
    { name: 'high surrogate before ASCII', text: 'a\ud83dx' },
  ];
}

/** Valid text that must come back exactly (astral characters, combining marks, controls, the empty string, a BOM). */
export function exactTextCases(): TextCase[] {
  return [
    { name: 'empty', text: '' },
    { name: 'ASCII', text: 'hello, world' },
    { name: 'astral (emoji)', text: '😀' },
    { name: 'astral (musical G clef) between ASCII', text: 'a𝄞b' },
    { name: 'U+10FFFF, the last code point', text: '\u{10ffff}' },
    { name: 'combining acute after e', text: 'e\u0301' },
    { name: 'stacked combining marks', text: 'a\u0300\u0301\u0302\u0303' },
    { name: 'Hangul jamo sequence', text: '\u1100\u1161\u11a8' },
    { name: 'byte order mark first', text: '\ufeffabc' },
    { name: 'noncharacter U+FFFE', text: '\ufffe' },
    { name: 'C0 and DEL controls', text: '\u0001\u001f\u007f\t\n\r' },
    { name: 'line and paragraph separators', text: '\u2028\u2029' },
    { name: 'quotes and backslashes', text: '"\\\'/' },
    { name: 'mixed scripts', text: 'é✓Ωж中ع' },
  ];
}

/** BYTES elements in the binary tensor data extension's framing: each a 4-byte little-endian length, then its bytes. */
export function framedElements(elements: readonly Buffer[]): Buffer {
  return Buffer.concat(elements.flatMap((e) => {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(e.length);
    return [len, e];
  }));
}
