/**
 * contentDisposition (RFC 6266 with RFC 8187's filename*) for every kind of
 * name a store may hold, legacy ones included: the header is printable
 * ASCII, the fallback has nothing a client could misread, and filename*
 * decodes to the exact name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asciiFallback, contentDisposition, encodeExtValue } from '../../src/serve/http/content-disposition.js';
import { AWKWARD_FILE_NAMES, NFC_NFD_PAIRS, controlChars } from '../helpers/hostile-names.js';

function parse(header: string): { fallback: string; exact?: string } {
  const m = /^attachment; filename="([^"\\]*)"(?:; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+))?$/.exec(header);
  assert.ok(m, `not the expected shape: ${header}`);
  return { fallback: m[1]!, ...(m[2] !== undefined ? { exact: decodeURIComponent(m[2]) } : {}) };
}

test('a plain ASCII name goes once, quoted', () => {
  for (const name of ['model.onnx', 'w-1_2.bin', "it's (1) [x] {y}.bin", 'a b.bin', '#$&+,:<=>?@^`|~!.bin']) {
    assert.equal(contentDisposition(`dir/${name}`), `attachment; filename="${name}"`);
  }
});

test('any other name gets an ASCII fallback and its exact UTF-8 in filename*', () => {
  const names = [
    ...AWKWARD_FILE_NAMES, ...NFC_NFD_PAIRS.flat(), 'back\\slash.bin', 'per%cent.bin', 'semi;colon.bin', 'q"uote.bin',
    ...controlChars().map(({ ch }) => `c${ch}.bin`), 'lone\ud800.bin', 'x'.repeat(300) + '模',
  ];
  for (const name of names) {
    const header = contentDisposition(`a/b/${name}`);
    assert.ok(/^[\x20-\x7e]+$/.test(header), `printable ASCII: ${JSON.stringify(header)}`);
    const { fallback, exact } = parse(header);
    assert.ok(!/[%;"\\]/.test(fallback), fallback);
    // A lone surrogate cannot be UTF-8: it goes as U+FFFD. (A plain name among them has no filename*.)
    assert.equal(exact ?? fallback, name.replace(/\p{Cs}/u, '\ufffd'), JSON.stringify(name));
  }
  assert.equal(asciiFallback('café.onnx'), 'cafe.onnx');
  assert.equal(asciiFallback('ｍｏｄｅｌ.bin'), 'model.bin');
  assert.equal(asciiFallback('模型.onnx'), '__.onnx');
  assert.equal(asciiFallback('🤖.bin'), '_.bin');
  assert.equal(contentDisposition('模型.onnx'), "attachment; filename=\"__.onnx\"; filename*=UTF-8''%E6%A8%A1%E5%9E%8B.onnx");
  assert.equal(encodeExtValue("a (1)'*.bin"), "UTF-8''a%20%281%29%27%2A.bin", 'what encodeURIComponent leaves, RFC 8187 encodes');
});
