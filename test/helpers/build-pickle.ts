/**
 * Writes torch.save-style data.pkl pickles by hand (protocol 2, the opcodes
 * torch 1.x and 2.x write for a state dict), independent of
 * src/formats/pickle.ts so that tests check one against the other. Real
 * torch fixtures live in test/fixtures/pytorch; this is for the cases torch
 * would not write (bad offsets, wrong sizes, odd storage types).
 */

export interface PickledTensor {
  name: string;
  /** torch storage class name: FloatStorage, HalfStorage, … */
  storageType: string;
  key: string;
  /** Elements of the storage. */
  numel: number;
  offset?: number;
  shape: number[];
  /** Default: row-major. */
  stride?: number[];
}

function int(n: number): Buffer {
  if (n >= 0 && n < 256) return Buffer.from([0x4b, n]); // BININT1
  if (n >= 0 && n < 65536) return Buffer.from([0x4d, n & 0xff, n >> 8]); // BININT2
  const b = Buffer.alloc(5);
  b[0] = 0x4a; // BININT
  b.writeInt32LE(n, 1);
  return b;
}

function str(s: string): Buffer {
  const body = Buffer.from(s, 'utf8');
  const head = Buffer.alloc(5);
  head[0] = 0x58; // BINUNICODE
  head.writeUInt32LE(body.length, 1);
  return Buffer.concat([head, body]);
}

function global(module: string, name: string): Buffer {
  return Buffer.from(`c${module}\n${name}\n`, 'latin1');
}

function tuple(items: Buffer[]): Buffer {
  if (items.length === 0) return Buffer.from([0x29]);
  return Buffer.concat([Buffer.from([0x28]), ...items, Buffer.from([0x74])]);
}

export function rowMajor(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** `{name: tensor, …}` as torch.save pickles a state dict (an OrderedDict of _rebuild_tensor_v2 calls). */
export function statePickle(tensors: readonly PickledTensor[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0x80, 0x02]), global('collections', 'OrderedDict'), Buffer.from([0x29, 0x52])];
  if (tensors.length > 0) {
    parts.push(Buffer.from([0x28])); // MARK
    for (const t of tensors) {
      const pid = tuple([str('storage'), global('torch', t.storageType), str(t.key), str('cpu'), int(t.numel)]);
      const args = tuple([
        Buffer.concat([pid, Buffer.from([0x51])]), // BINPERSID
        int(t.offset ?? 0),
        tuple(t.shape.map(int)),
        tuple((t.stride ?? rowMajor(t.shape)).map(int)),
        Buffer.from([0x89]), // NEWFALSE
        global('collections', 'OrderedDict'), Buffer.from([0x29, 0x52]),
      ]);
      parts.push(str(t.name), global('torch._utils', '_rebuild_tensor_v2'), args, Buffer.from([0x52]));
    }
    parts.push(Buffer.from([0x75])); // SETITEMS
  }
  parts.push(Buffer.from([0x2e])); // STOP
  return Buffer.concat(parts);
}
