/**
 * CRC-32 as ZIP stores it (IEEE 802.3: reflected, polynomial 0xEDB88320,
 * initial and final XOR 0xFFFFFFFF). node:zlib has crc32 only from Node
 * 20.15, and the package runs on any Node 20. Test vector: "123456789" →
 * 0xCBF43926.
 */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
