/**
 * Reads a NumPy .npy file of little-endian float32 rows (the bench's real
 * inputs: the trained-digits evaluation set). Only what the bench needs:
 * format versions 1 to 3, dtype '<f4', C order, two dimensions; the header
 * is read with bounds (its length, its size, the data's size) and anything
 * else is an error naming the file.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Largest header accepted (NumPy writes ~128 bytes; it allows up to 4 GiB in version 2). */
const MAX_HEADER = 64 << 10;
/** Largest data read: the bench reads small evaluation sets only. */
const MAX_DATA = 256 << 20;

export interface NpyMatrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

function readExactly(fd: number, length: number, position: number, file: string): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) throw new Error(`${file}: truncated .npy (${got} of ${length} bytes at offset ${position})`);
    got += n;
  }
  return buf;
}

/** The first `maxRows` rows (all when undefined) of a [rows, cols] float32 .npy file. */
export function readNpyF32(file: string, maxRows?: number): NpyMatrix {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const fail = (why: string): never => {
      throw new Error(`${file}: ${why}`);
    };
    if (size < 10) fail('too short for a .npy file');
    const pre = readExactly(fd, 12, 0, file);
    if (pre.readUInt8(0) !== 0x93 || pre.toString('latin1', 1, 6) !== 'NUMPY') fail('not a .npy file (no \\x93NUMPY magic)');
    const major = pre.readUInt8(6);
    if (major < 1 || major > 3) fail(`.npy format version ${major} is not supported`);
    const lenBytes = major === 1 ? 2 : 4;
    const headerLen = major === 1 ? pre.readUInt16LE(8) : pre.readUInt32LE(8);
    const start = 8 + lenBytes;
    if (headerLen > MAX_HEADER || start + headerLen > size) fail(`header of ${headerLen} bytes (file ${size} bytes, at most ${MAX_HEADER})`);
    const header = readExactly(fd, headerLen, start, file).toString(major === 3 ? 'utf8' : 'latin1');
    const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
    if (descr !== '<f4') fail(`dtype ${descr ?? '(none)'}; the bench reads little-endian float32 ('<f4') only`);
    if (!/'fortran_order':\s*False/.test(header)) fail('Fortran order; the bench reads C-order arrays only');
    const shape = /'shape':\s*\(\s*(\d+)\s*,\s*(\d+)\s*,?\s*\)/.exec(header);
    if (!shape) fail(`shape is not two dimensions: ${header.trim()}`);
    const rows = Number(shape![1]);
    const cols = Number(shape![2]);
    const dataStart = start + headerLen;
    if (!Number.isSafeInteger(rows * cols * 4) || dataStart + rows * cols * 4 !== size) fail(`shape (${rows}, ${cols}) does not match the file's ${size - dataStart} bytes of data`);
    const take = Math.min(rows, maxRows ?? rows);
    if (take * cols * 4 > MAX_DATA) fail(`${take * cols * 4} bytes of data; the bench reads at most ${MAX_DATA}`);
    const bytes = readExactly(fd, take * cols * 4, dataStart, file);
    const data = new Float32Array(take * cols);
    for (let i = 0; i < data.length; i++) data[i] = bytes.readFloatLE(i * 4);
    return { rows: take, cols, data };
  } finally {
    closeSync(fd);
  }
}
