/**
 * Reader for the IDX format used by (Fashion-)MNIST: a 4-byte magic
 * (0, 0, type, ndims), ndims big-endian uint32 dimensions, then the data.
 * Files ending in .gz are gunzipped first. Only unsigned bytes (type 0x08) are
 * supported, which is all the Fashion-MNIST files contain.
 */
import fs from 'node:fs/promises';
import zlib from 'node:zlib';

export interface IdxArray {
  /** Dimensions, e.g. [60000, 28, 28] for images or [60000] for labels. */
  dims: number[];
  /** Row-major uint8 values (a view into the decompressed file). */
  data: Uint8Array;
}

/** Parses an (already decompressed) IDX buffer; throws a clear error on a malformed one. */
export function parseIdx(buf: Uint8Array, name = 'IDX data'): IdxArray {
  if (buf.length < 4) throw new Error(`${name}: too short to be an IDX file (${buf.length} bytes)`);
  if (buf[0] !== 0 || buf[1] !== 0) throw new Error(`${name}: not an IDX file (bad magic bytes)`);
  const type = buf[2];
  const ndims = buf[3];
  if (type !== 0x08) throw new Error(`${name}: IDX element type 0x${type.toString(16)} is not supported (only uint8)`);
  if (ndims < 1 || ndims > 4) throw new Error(`${name}: unexpected IDX rank ${ndims}`);
  const headerLen = 4 + 4 * ndims;
  if (buf.length < headerLen) throw new Error(`${name}: truncated IDX header`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (buf.length - headerLen < count) {
    throw new Error(`${name}: truncated IDX data (header says ${count} values, file has ${buf.length - headerLen})`);
  }
  return { dims, data: buf.subarray(headerLen, headerLen + count) };
}

/** Reads an IDX file (gzip-compressed when the name ends in .gz). */
export async function readIdx(file: string): Promise<IdxArray> {
  let raw: Uint8Array = await fs.readFile(file);
  if (file.endsWith('.gz')) {
    try {
      raw = zlib.gunzipSync(raw);
    } catch (err) {
      throw new Error(`${file}: cannot gunzip (${(err as Error).message})`);
    }
  }
  return parseIdx(raw, file);
}

/** Encodes a uint8 array as IDX (used to build test fixtures). */
export function encodeIdx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}
