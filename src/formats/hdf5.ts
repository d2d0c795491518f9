import type { ByteSource } from '../io/file-source.js';
import { elementCount } from './coverage.js';
import { WindowedSource } from './window.js';

/**
 * A bounded reader of the HDF5 structures that say where a file's datasets
 * are: superblock (versions 0-3), object headers (versions 1 and 2, with
 * continuation blocks), old-style groups (symbol table: v1 B-tree, local
 * heap, symbol table nodes) and compact new-style groups (link messages),
 * groups of up to a few dozen links in dense storage (fractal heap and v2
 * B-tree), and per dataset its dataspace, datatype and layout messages.
 * Only contiguous datasets of numeric types are reported as tensors;
 * chunked, compact, external or never-written datasets, and larger dense
 * groups, are skipped: their bytes stay literal. See hdf5.md.
 *
 * The HDF5 bytes may sit inside another file (a .keras zip entry): `origin`
 * is where they start. Every address is checked against the bytes before it
 * is followed, every count against the bytes it must fit in, and no object
 * header is visited twice, so a hostile file costs at most a pass over its
 * bytes and gives a FormatError naming the file and the structure.
 */

export const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface Hdf5Dataset {
  /** Path from the root group, '/'-separated ("model_weights/dense/dense/kernel:0"). */
  name: string;
  /** Canonical dtype (F32, F16, I64, …), or 'UNKNOWN' for a big-endian or unusual number layout. */
  dtype: string;
  shape: number[];
  /** Absolute offset of the data in the source, and its bytes. */
  offset: number;
  length: number;
}

/** At most this many object headers are visited (each is at least 16 bytes of the file anyway). */
export const MAX_HDF5_OBJECTS = 1_000_000;
/** Groups nested deeper than this are not followed. */
export const MAX_HDF5_DEPTH = 64;
/** Link names longer than this, and paths longer than MAX_HDF5_PATH, are not followed (Keras writes short ones). */
export const MAX_HDF5_NAME = 4096;
export const MAX_HDF5_PATH = 16384;
/** At most this many bytes of names are decoded in one file: a hostile file cannot make every entry a new 4 KiB string. */
export const MAX_HDF5_NAME_BYTES = 16 * 1024 * 1024;

const UNDEFINED = -1;

const MSG_DATASPACE = 0x0001;
const MSG_LINK_INFO = 0x0002;
const MSG_DATATYPE = 0x0003;
const MSG_LINK = 0x0006;
const MSG_EXTERNAL = 0x0007;
const MSG_LAYOUT = 0x0008;
const MSG_FILTERS = 0x000b;
const MSG_CONTINUATION = 0x0010;
const MSG_SYMBOL_TABLE = 0x0011;

interface Message { type: number; at: number; size: number }

/** Reads the datasets of the HDF5 file whose first byte is at `origin` in `src` (and which ends at `end`). */
export function readHdf5Datasets(src: ByteSource, origin = 0, end = src.size): Hdf5Dataset[] {
  return new Hdf5Reader(new WindowedSource(src), origin, end).datasets();
}

class Hdf5Reader {
  private offsetSize = 8;
  private lengthSize = 8;
  /** Absolute position of HDF5 address 0: origin + the superblock's base address. */
  private base = 0;
  private readonly visited = new Set<number>();
  /**
   * Continuation blocks, B-tree nodes and symbol table nodes read so far, in
   * the whole file: a valid file never reaches one twice, and a hostile one
   * that makes many objects share one would cost their product.
   */
  private readonly structures = new Set<number>();
  /** Name bytes decoded so far (MAX_HDF5_NAME_BYTES). */
  private nameBytes = 0;
  private readonly out: Hdf5Dataset[] = [];

  constructor(private readonly w: WindowedSource, private readonly origin: number, private readonly end: number) {}

  private fail(cause: string): never {
    return this.w.fail(`HDF5: ${cause}`);
  }

  private u(pos: number, n: number, what: string): number {
    const b = this.bytes(pos, n, what);
    if (n === 1) return b[0]!;
    if (n === 2) return b.readUInt16LE(0);
    if (n === 4) return b.readUInt32LE(0);
    const v = b.readBigUInt64LE(0);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }

  private bytes(pos: number, n: number, what: string): Buffer {
    if (pos < this.origin || pos + n > this.end) this.fail(`${what} (${n} bytes at offset ${pos}) lies outside the HDF5 data`);
    return this.w.bytes(pos, n, what);
  }

  /** An address field: UNDEFINED for the all-ones "undefined address". */
  private addr(pos: number, what: string): number {
    const b = this.bytes(pos, this.offsetSize, what);
    if (b.every((x) => x === 0xff)) return UNDEFINED;
    return this.u(pos, this.offsetSize, what);
  }

  private len(pos: number, what: string): number {
    return this.u(pos, this.lengthSize, what);
  }

  /** An HDF5 address as an absolute position, checked to leave `need` bytes inside the data. */
  private at(address: number, need: number, what: string): number {
    const p = this.base + address;
    if (address < 0 || !Number.isSafeInteger(p) || p + need > this.end) this.fail(`${what} address ${address} lies outside the file`);
    return p;
  }

  datasets(): Hdf5Dataset[] {
    const root = this.superblock();
    this.object(root, '', 0);
    return this.out;
  }

  private superblock(): number {
    const o = this.origin;
    if (!this.bytes(o, 8, 'signature').equals(HDF5_SIGNATURE)) this.fail('no HDF5 signature at the start');
    const version = this.u(o + 8, 1, 'superblock version');
    if (version <= 1) {
      this.sizes(this.u(o + 13, 1, 'size of offsets'), this.u(o + 14, 1, 'size of lengths'));
      let p = o + 24 + (version === 1 ? 4 : 0);
      this.base = o + this.u(p, this.offsetSize, 'base address');
      p += 4 * this.offsetSize;
      // The root group's symbol table entry: link name offset, then the object header address.
      const root = this.addr(p + this.offsetSize, 'root object header');
      if (root === UNDEFINED) this.fail('the root group has no object header');
      return root;
    }
    if (version === 2 || version === 3) {
      this.sizes(this.u(o + 9, 1, 'size of offsets'), this.u(o + 10, 1, 'size of lengths'));
      const p = o + 12;
      this.base = o + this.u(p, this.offsetSize, 'base address');
      const root = this.addr(p + 3 * this.offsetSize, 'root object header');
      if (root === UNDEFINED) this.fail('the root group has no object header');
      return root;
    }
    return this.fail(`superblock version ${version} is not supported (0-3)`);
  }

  private decodedName(b: Buffer): string {
    this.nameBytes += b.length;
    if (this.nameBytes > MAX_HDF5_NAME_BYTES) this.fail(`more than ${MAX_HDF5_NAME_BYTES} bytes of link names`);
    return b.toString('utf8');
  }

  /** The 4-byte signature a structure starts with, or a FormatError naming the structure. */
  private signature(pos: number, sig: string, what: string, structure: string): void {
    if (this.bytes(pos, 4, what).toString('latin1') !== sig) this.fail(`${what}: ${structure} has no ${sig} signature`);
  }

  private once(position: number, cause: string): void {
    if (this.structures.has(position)) this.fail(cause);
    this.structures.add(position);
  }

  private sizes(offsets: number, lengths: number): void {
    if (![2, 4, 8].includes(offsets) || ![2, 4, 8].includes(lengths)) this.fail(`sizes of offsets ${offsets} and lengths ${lengths} are not 2, 4 or 8`);
    this.offsetSize = offsets;
    this.lengthSize = lengths;
  }

  /** One object: a group is walked, a dataset recorded. */
  private object(address: number, path: string, depth: number): void {
    if (this.visited.has(address)) return;
    if (this.visited.size >= MAX_HDF5_OBJECTS) this.fail(`more than ${MAX_HDF5_OBJECTS} objects`);
    this.visited.add(address);
    const msgs = this.messages(address, path);
    const of = (t: number): Message | undefined => msgs.find((m) => m.type === t);
    const layout = of(MSG_LAYOUT);
    if (layout) {
      this.dataset(path, layout, of(MSG_DATASPACE), of(MSG_DATATYPE), of(MSG_FILTERS) !== undefined || of(MSG_EXTERNAL) !== undefined);
      return;
    }
    if (depth >= MAX_HDF5_DEPTH) return;
    const children: Array<[string, number]> = [];
    const table = of(MSG_SYMBOL_TABLE);
    if (table) this.symbolTable(table, path, children);
    for (const m of msgs) if (m.type === MSG_LINK) this.link(m, children);
    // Links in dense storage: link messages kept in a fractal heap, found through the name index.
    const info = of(MSG_LINK_INFO);
    if (info) this.denseLinks(info, path, children);
    for (const [name, child] of children) {
      const childPath = path === '' ? name : `${path}/${name}`;
      if (childPath.length <= MAX_HDF5_PATH) this.object(child, childPath, depth + 1);
    }
  }

  /** The messages of an object header (version 1 or 2) and its continuation blocks. */
  private messages(address: number, path: string): Message[] {
    const what = `object header of '${path || '/'}'`;
    const start = this.at(address, 16, what);
    const out: Message[] = [];
    /** Message blocks: [first byte, end (exclusive), whether messages carry a creation order]. */
    const blocks: Array<[number, number, boolean]> = [];
    let v2 = false;
    if (this.bytes(start, 4, what).toString('latin1') === 'OHDR') {
      v2 = true;
      const version = this.u(start + 4, 1, what);
      if (version !== 2) this.fail(`${what}: version ${version}`);
      const flags = this.u(start + 5, 1, what);
      let p = start + 6;
      if (flags & 0x20) p += 16;
      if (flags & 0x10) p += 4;
      const sizeBytes = 1 << (flags & 3);
      const size = this.u(p, sizeBytes, what);
      p += sizeBytes;
      // Chunk #0's size counts its messages (and gap), not the prefix or the checksum after it.
      blocks.push([p, p + size, (flags & 0x04) !== 0]);
    } else {
      const version = this.u(start, 1, what);
      if (version !== 1) this.fail(`${what}: version ${version} is not 1 or 2`);
      blocks.push([start + 16, start + 16 + this.u(start + 8, 4, what), false]);
    }
    while (blocks.length > 0) {
      const [from, stop, order] = blocks.shift()!;
      this.once(from, `${what}: a continuation block is reached twice`);
      if (stop < from || stop > this.end) this.fail(`${what}: ${stop - from} bytes of messages run past the end`);
      const headLen = v2 ? 4 + (order ? 2 : 0) : 8;
      let p = from;
      // A gap smaller than a message header may end a v2 block.
      while (p + headLen <= stop) {
        const type = v2 ? this.u(p, 1, what) : this.u(p, 2, what);
        const msize = v2 ? this.u(p + 1, 2, what) : this.u(p + 2, 2, what);
        const data = p + headLen;
        if (data + msize > stop) this.fail(`${what}: message of ${msize} bytes runs past its block`);
        out.push({ type, at: data, size: msize });
        if (out.length > 65536) this.fail(`${what}: more than 65536 messages`);
        if (type === MSG_CONTINUATION) {
          const ca = this.addr(data, `${what} continuation`);
          const cl = this.len(data + this.offsetSize, `${what} continuation`);
          if (ca !== UNDEFINED) {
            const cp = this.at(ca, cl, `${what} continuation`);
            if (v2) {
              // OCHK signature, messages, checksum.
              if (cl < 8) this.fail(`${what}: continuation block has no OCHK signature`);
              this.signature(cp, 'OCHK', what, 'continuation block');
              blocks.push([cp + 4, cp + cl - 4, order]);
            } else blocks.push([cp, cp + cl, order]);
          }
        }
        p = data + msize;
      }
    }
    return out;
  }

  private symbolTable(m: Message, path: string, children: Array<[string, number]>): void {
    const what = `symbol table of '${path || '/'}'`;
    const btree = this.addr(m.at, what);
    const heap = this.addr(m.at + this.offsetSize, what);
    if (btree === UNDEFINED || heap === UNDEFINED) return;
    const hp = this.at(heap, 8 + 2 * this.lengthSize + this.offsetSize, `${what} local heap`);
    this.signature(hp, 'HEAP', what, 'local heap');
    const dataSize = this.len(hp + 8, `${what} local heap`);
    const dataAt = this.at(this.addr(hp + 8 + 2 * this.lengthSize, `${what} local heap`), dataSize, `${what} local heap data`);
    const names = new Map<number, string>();
    const nameAt = (offset: number): string => {
      const known = names.get(offset);
      if (known !== undefined) return known;
      if (offset >= dataSize) this.fail(`${what}: name offset ${offset} is outside the local heap (${dataSize} bytes)`);
      const avail = Math.min(dataSize - offset, MAX_HDF5_NAME + 1);
      const b = this.bytes(dataAt + offset, avail, `${what} name`);
      const z = b.indexOf(0);
      // A name longer than MAX_HDF5_NAME (or unterminated within it) is not followed: an empty name is skipped.
      const name = z < 0 ? '' : this.decodedName(b.subarray(0, z));
      names.set(offset, name);
      return name;
    };
    const nodes = [btree];
    while (nodes.length > 0) {
      const node = nodes.pop()!;
      this.once(this.base + node, `${what}: B-tree loops (a node is reached twice)`);
      const np = this.at(node, 8 + 2 * this.offsetSize, `${what} B-tree node`);
      this.signature(np, 'TREE', what, 'B-tree node');
      if (this.u(np + 4, 1, what) !== 0) this.fail(`${what}: B-tree node is not a group node`);
      const level = this.u(np + 5, 1, what);
      const entries = this.u(np + 6, 2, what);
      let p = np + 8 + 2 * this.offsetSize + this.lengthSize; // past key 0
      const step = this.offsetSize + this.lengthSize;
      this.bytes(p, entries * step, `${what} B-tree entries`);
      for (let i = 0; i < entries; i++, p += step) {
        const child = this.addr(p, `${what} B-tree child`);
        if (child === UNDEFINED) continue;
        if (level > 0) nodes.push(child);
        else this.symbolNode(child, what, nameAt, children);
      }
    }
  }

  private symbolNode(address: number, what: string, nameAt: (o: number) => string, children: Array<[string, number]>): void {
    const sp = this.at(address, 8, `${what} symbol node`);
    this.once(sp, `${what}: a symbol node is reached twice`);
    this.signature(sp, 'SNOD', what, 'symbol node');
    const count = this.u(sp + 6, 2, what);
    const entry = 2 * this.offsetSize + 24;
    this.bytes(sp + 8, count * entry, `${what} symbol entries`);
    for (let i = 0; i < count; i++) {
      const e = sp + 8 + i * entry;
      const name = nameAt(this.u(e, this.offsetSize, `${what} entry`));
      const header = this.addr(e + this.offsetSize, `${what} entry`);
      if (header !== UNDEFINED && name !== '') children.push([name, header]);
    }
  }

  /**
   * A group's links in dense storage (hdf5.md, "Dense link storage"): the
   * link info message names a fractal heap and a v2 B-tree of the names;
   * each record of the B-tree holds a heap ID, whose managed object is a link
   * message. Only what h5py writes for groups of up to a few dozen links is
   * followed: a B-tree of depth 0 (its root is a leaf) over managed objects
   * in a root direct block or the direct blocks of a root indirect block.
   * Anything else leaves the group's datasets literal, still stored.
   */
  private denseLinks(m: Message, path: string, children: Array<[string, number]>): void {
    const what = `dense links of '${path || '/'}'`;
    if (m.size < 2 + 2 * this.offsetSize) this.fail(`${what}: link info message is truncated`);
    const flags = this.u(m.at + 1, 1, what);
    const p = m.at + 2 + (flags & 1 ? 8 : 0);
    if (p + 2 * this.offsetSize > m.at + m.size) this.fail(`${what}: link info message is truncated`);
    const heapAddr = this.addr(p, what);
    const treeAddr = this.addr(p + this.offsetSize, what);
    if (heapAddr === UNDEFINED || treeAddr === UNDEFINED) return;
    const heap = this.fractalHeap(heapAddr, what);
    if (!heap) return;
    const O = this.offsetSize;
    const L = this.lengthSize;
    const th = this.at(treeAddr, 18 + O + L, `${what} B-tree header`);
    this.signature(th, 'BTHD', what, 'B-tree header');
    const type = this.u(th + 5, 1, what);
    const recordSize = this.u(th + 10, 2, what);
    const depth = this.u(th + 12, 2, what);
    const root = this.addr(th + 16, what);
    const records = this.u(th + 16 + O, 2, what);
    if (type !== 5 || depth !== 0 || root === UNDEFINED || recordSize !== 4 + heap.idLength) return;
    const leaf = this.at(root, 6 + records * recordSize, `${what} B-tree leaf`);
    this.once(leaf, `${what}: a B-tree leaf is reached twice`);
    this.signature(leaf, 'BTLF', what, 'B-tree leaf');
    for (let i = 0; i < records; i++) {
      const obj = heap.object(leaf + 6 + i * recordSize + 4);
      if (!obj) return;
      this.link({ type: MSG_LINK, at: obj.at, size: obj.size }, children);
    }
  }

  /** A fractal heap's managed objects, by heap ID (see denseLinks), or undefined for a heap laid out otherwise. */
  private fractalHeap(address: number, what: string): { idLength: number; object: (idAt: number) => { at: number; size: number } | undefined } | undefined {
    const O = this.offsetSize;
    const L = this.lengthSize;
    const h = this.at(address, 26 + 12 * L + 3 * O, `${what} fractal heap`);
    this.signature(h, 'FRHP', what, 'fractal heap');
    // A heap, and each of its blocks, is read once per file: groups sharing them would cost their product.
    this.once(h, `${what}: a fractal heap is reached twice`);
    const idLength = this.u(h + 5, 2, what);
    const filters = this.u(h + 7, 2, what);
    const checksummed = (this.u(h + 9, 1, what) & 2) !== 0;
    const maxManaged = this.u(h + 10, 4, what);
    let q = h + 14 + L + O + L + O + 8 * L;
    const width = this.u(q, 2, what);
    const startBlock = this.len(q + 2, what);
    const maxDirect = this.len(q + 2 + L, what);
    const maxHeapBits = this.u(q + 2 + 2 * L, 2, what);
    q += 2 + 2 * L + 4;
    const rootAddr = this.addr(q, what);
    const rows = this.u(q + O, 2, what);
    if (filters !== 0 || rootAddr === UNDEFINED || width === 0 || startBlock === 0 || maxHeapBits === 0 || maxHeapBits > 64 || idLength < 2 || idLength > 64) return undefined;
    const offBytes = Math.ceil(maxHeapBits / 8);
    const bits = (v: number): number => (v <= 0 ? 1 : Math.floor(Math.log2(v)) + 1);
    const lenBytes = Math.ceil(bits(Math.min(maxDirect, maxManaged)) / 8);
    if (1 + offBytes + lenBytes > idLength || offBytes > 6 || lenBytes > 6) return undefined;
    const headerOf = (block: number, kind: 'FHDB' | 'FHIB'): void => {
      this.signature(block, kind, what, 'heap block');
      this.once(block, `${what}: a heap block is reached twice`);
    };
    // Direct blocks: [heap offset, size, file position], from the root.
    const blocks: Array<[number, number, number]> = [];
    if (rows === 0) {
      const b = this.at(rootAddr, 5 + O + offBytes, `${what} direct block`);
      headerOf(b, 'FHDB');
      blocks.push([0, startBlock, b]);
    } else {
      const ib = this.at(rootAddr, 5 + O + offBytes, `${what} indirect block`);
      headerOf(ib, 'FHIB');
      let entry = ib + 5 + O + offBytes;
      let heapOffset = 0;
      for (let r = 0; r < rows; r++) {
        const size = r < 2 ? startBlock : startBlock * 2 ** (r - 1);
        if (size > maxDirect) break; // rows of indirect blocks: not followed
        for (let c = 0; c < width; c++, entry += O, heapOffset += size) {
          const child = this.addr(entry, `${what} indirect block`);
          if (child === UNDEFINED) continue;
          const b = this.at(child, 5 + O + offBytes, `${what} direct block`);
          headerOf(b, 'FHDB');
          blocks.push([heapOffset, size, b]);
        }
      }
    }
    const minOffset = 5 + O + offBytes + (checksummed ? 4 : 0);
    return {
      idLength,
      object: (idAt) => {
        const id = this.bytes(idAt, idLength, `${what} heap ID`);
        if (((id[0]! >> 4) & 3) !== 0) return undefined; // huge or tiny: not followed
        let offset = 0;
        for (let i = offBytes - 1; i >= 0; i--) offset = offset * 256 + id[1 + i]!;
        let size = 0;
        for (let i = lenBytes - 1; i >= 0; i--) size = size * 256 + id[1 + offBytes + i]!;
        const block = blocks.find(([from, len]) => offset >= from && offset < from + len);
        if (!block) return undefined;
        const within = offset - block[0];
        if (within < minOffset || within + size > block[1]) this.fail(`${what}: heap object ${offset}+${size} lies outside its block`);
        return { at: this.at(block[2] - this.base + within, size, `${what} heap object`) + 0, size };
      },
    };
  }

  /** A link message: hard links are followed; soft and external links are not. */
  private link(m: Message, children: Array<[string, number]>): void {
    const end = m.at + m.size;
    const need = (p: number, n: number): number => {
      if (p + n > end) this.fail('link message is truncated');
      return p;
    };
    if (this.u(need(m.at, 2), 1, 'link message') !== 1) this.fail('link message version is not 1');
    const flags = this.u(m.at + 1, 1, 'link message');
    let p = m.at + 2;
    let type = 0;
    if (flags & 0x08) type = this.u(need(p++, 1), 1, 'link type');
    if (flags & 0x04) p += 8;
    if (flags & 0x10) p += 1;
    const lenBytes = 1 << (flags & 3);
    const nameLen = this.u(need(p, lenBytes), lenBytes, 'link name length');
    p += lenBytes;
    const name = nameLen > MAX_HDF5_NAME ? '' : this.decodedName(this.bytes(need(p, nameLen), nameLen, 'link name'));
    p += nameLen;
    if (type !== 0) return;
    const target = this.addr(need(p, this.offsetSize), 'link target');
    if (target !== UNDEFINED && name !== '') children.push([name, target]);
  }

  private dataset(path: string, layout: Message, space: Message | undefined, type: Message | undefined, filtered: boolean): void {
    if (!space || !type || filtered) return;
    const shape = this.dataspace(space, path);
    const dt = this.datatype(type);
    if (!shape || !dt) return;
    const lv = this.u(layout.at, 1, `layout of '${path}'`);
    if (lv !== 3 && lv !== 4) return;
    if (this.u(layout.at + 1, 1, `layout of '${path}'`) !== 1) return; // contiguous only
    const address = this.addr(layout.at + 2, `layout of '${path}'`);
    const size = this.len(layout.at + 2 + this.offsetSize, `layout of '${path}'`);
    if (address === UNDEFINED || size === 0) return;
    const elements = elementCount(shape);
    if (elements === undefined || elements * dt.bytes !== size) this.fail(`dataset '${path}': ${size} bytes of data for shape [${shape.join(',')}] of ${dt.bytes}-byte elements`);
    const offset = this.at(address, size, `data of '${path}'`);
    this.out.push({ name: path, dtype: dt.dtype, shape, offset, length: size });
  }

  private dataspace(m: Message, path: string): number[] | undefined {
    const what = `dataspace of '${path}'`;
    const version = this.u(m.at, 1, what);
    const rank = this.u(m.at + 1, 1, what);
    if (rank > 32) this.fail(`${what}: rank ${rank}`);
    let p: number;
    if (version === 1) p = m.at + 8;
    else if (version === 2) {
      const kind = this.u(m.at + 3, 1, what);
      if (kind === 2) return undefined; // null dataspace: no data
      p = m.at + 4;
    } else return this.fail(`${what}: version ${version}`);
    if (p + rank * this.lengthSize > m.at + m.size) this.fail(`${what}: ${rank} dimensions do not fit the message`);
    const shape: number[] = [];
    for (let i = 0; i < rank; i++) shape.push(this.len(p + i * this.lengthSize, what));
    return shape;
  }

  /** Numeric types only: fixed-point and IEEE floating-point; little-endian ones get their dtype. */
  private datatype(m: Message): { dtype: string; bytes: number } | undefined {
    if (m.size < 8) return undefined;
    const head = this.u(m.at, 1, 'datatype');
    const cls = head & 0x0f;
    const bits0 = this.u(m.at + 1, 1, 'datatype');
    const size = this.u(m.at + 4, 4, 'datatype');
    if (size === 0 || size > 16) return undefined;
    const bigEndian = (bits0 & 1) !== 0;
    if (cls === 0) {
      const signed = (bits0 & 0x08) !== 0;
      const names: Record<number, string> = signed ? { 1: 'I8', 2: 'I16', 4: 'I32', 8: 'I64' } : { 1: 'U8', 2: 'U16', 4: 'U32', 8: 'U64' };
      const name = names[size];
      return name === undefined ? undefined : { dtype: bigEndian && size > 1 ? 'UNKNOWN' : name, bytes: size };
    }
    if (cls === 1) {
      if (m.size < 20) return undefined;
      const expSize = this.u(m.at + 8 + 5, 1, 'datatype');
      const mantSize = this.u(m.at + 8 + 7, 1, 'datatype');
      const ieee = `${size}:${expSize}:${mantSize}`;
      const names: Record<string, string> = { '2:5:10': 'F16', '2:8:7': 'BF16', '4:8:23': 'F32', '8:11:52': 'F64' };
      const name = names[ieee];
      return { dtype: name === undefined || bigEndian || (bits0 & 0x40) ? 'UNKNOWN' : name, bytes: size };
    }
    // h5py stores numpy bools as an enum of int8.
    return undefined;
  }
}
