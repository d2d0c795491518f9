/**
 * Codec ids, stored in the database per chunk. An id is
 *
 *   predictor << 4 | layout
 *
 * layout    (low nibble):  0 RAW     payload = the bytes themselves
 *                          1 ZSTD    payload = one zstd frame
 *                          2 PLANES  payload = byte-planes container (byteplanes.ts)
 * predictor (high nibble): 0 none    the layout holds the chunk
 *                          1 XOR     the layout holds chunk XOR base chunk
 *                          2 CAST16  the layout holds chunk XOR f16(castSource)
 *                          3 CASTBF  the layout holds chunk XOR bf16(castSource)
 *                          4 DELTA   the layout holds zigzag(element - base element)
 *                                    (integers of the element width; PLANES only,
 *                                    whose header gives the width)
 *                          5 PERMUTE the chunk is elements of another tensor with its
 *                                    axes permuted; the payload (permute.ts) says how,
 *                                    the bases are that tensor's chunks (RAW layout only)
 *
 * Only the combinations listed in `Codec` exist; the decoder rejects others.
 * (A residual stored raw is never smaller than the chunk stored raw.) The
 * values are part of the storage format: never renumber, only add.
 */
export type CodecId = number;

export const Codec = {
  RAW: 0x00,
  ZSTD: 0x01,
  PLANES: 0x02,
  XOR_ZSTD: 0x11,
  XOR_PLANES: 0x12,
  CAST_F16_ZSTD: 0x21,
  CAST_F16_PLANES: 0x22,
  CAST_BF16_ZSTD: 0x31,
  CAST_BF16_PLANES: 0x32,
  DELTA_PLANES: 0x42,
  PERMUTE: 0x50,
} as const;

export type CodecName = keyof typeof Codec;

/** Every valid codec id, in id order. */
export const ALL_CODECS: readonly CodecId[] = Object.values(Codec);

export enum Layout {
  Raw = 0,
  Zstd = 1,
  Planes = 2,
}

export enum Predictor {
  None = 0,
  Xor = 1,
  CastF16 = 2,
  CastBF16 = 3,
  Delta = 4,
  Permute = 5,
}

const NAMES = new Map<CodecId, CodecName>(Object.entries(Codec).map(([k, v]) => [v, k as CodecName]));

export function isCodecId(id: number): boolean {
  return NAMES.has(id);
}

/** 'XOR_PLANES' etc.; `codec#<id>` for an unknown id. */
export function codecName(id: CodecId): string {
  return NAMES.get(id) ?? `codec#${id}`;
}

export function codecLayout(id: CodecId): Layout {
  return (id & 0x0f) as Layout;
}

export function codecPredictor(id: CodecId): Predictor {
  return (id >> 4) as Predictor;
}

export function makeCodec(predictor: Predictor, layout: Layout): CodecId {
  return (predictor << 4) | layout;
}

/** Whether decoding needs the base chunk. */
export function codecUsesBase(id: CodecId): boolean {
  const p = codecPredictor(id);
  return p === Predictor.Xor || p === Predictor.Delta;
}

/** Whether decoding needs the F32 cast source. */
export function codecUsesCastSource(id: CodecId): boolean {
  const p = codecPredictor(id);
  return p === Predictor.CastF16 || p === Predictor.CastBF16;
}

/** Whether decoding needs the source tensor: the chunk's bases, concatenated (PERMUTE). */
export function codecUsesTensorSource(id: CodecId): boolean {
  return codecPredictor(id) === Predictor.Permute;
}
