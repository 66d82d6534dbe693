import path from 'node:path';
import zlib from 'node:zlib';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeIdx, parseIdx, readIdx } from '../../src/data/idx.ts';
import { loadFashionMnist, padImages } from '../../src/data/fashion-mnist.ts';
import { tempDir } from '../helpers/temp.ts';

const FIX = path.resolve(import.meta.dirname, '../fixtures/fashion-mnist-mini');

describe('IDX reader', () => {
  it('reads the gzip fixture: 128 train images of 28x28 with 128 labels, 64 of them sneakers', async () => {
    const img = await readIdx(path.join(FIX, 'train-images-idx3-ubyte.gz'));
    const lab = await readIdx(path.join(FIX, 'train-labels-idx1-ubyte.gz'));
    expect(img.dims).toEqual([128, 28, 28]);
    expect(img.data.length).toBe(128 * 784);
    expect(lab.dims).toEqual([128]);
    expect(lab.data.filter((l) => l === 7).length).toBe(64);
    expect(Math.max(...lab.data)).toBeLessThanOrEqual(9);
    // Fashion-MNIST's first training image is an ankle boot (label 9) with a black border.
    expect(lab.data[0]).toBe(9);
    expect(img.data[0]).toBe(0);
    expect(Math.max(...img.data.subarray(0, 784))).toBeGreaterThan(200);
  });

  it('round-trips encodeIdx/parseIdx and reads uncompressed files', async () => {
    const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 7);
    const buf = encodeIdx([2, 3, 4], data);
    const parsed = parseIdx(buf);
    expect(parsed.dims).toEqual([2, 3, 4]);
    expect([...parsed.data]).toEqual([...data]);
    const file = path.join(tempDir('idx-'), 'x.idx');
    fs.writeFileSync(file, buf);
    expect((await readIdx(file)).dims).toEqual([2, 3, 4]);
  });

  it('rejects malformed input with a clear message', async () => {
    expect(() => parseIdx(new Uint8Array([1, 2]))).toThrow(/too short/);
    expect(() => parseIdx(new Uint8Array([1, 0, 8, 1, 0, 0, 0, 1, 5]))).toThrow(/bad magic/);
    expect(() => parseIdx(new Uint8Array([0, 0, 0x0d, 1, 0, 0, 0, 1, 5]))).toThrow(/not supported/);
    const truncated = encodeIdx([10, 2], new Uint8Array(20)).subarray(0, 20);
    expect(() => parseIdx(truncated)).toThrow(/truncated IDX data/);
    const dir = tempDir('idx-');
    fs.writeFileSync(path.join(dir, 'bad.gz'), Buffer.from('not gzip at all'));
    await expect(readIdx(path.join(dir, 'bad.gz'))).rejects.toThrow(/cannot gunzip/);
    fs.writeFileSync(path.join(dir, 'ok.gz'), zlib.gzipSync(encodeIdx([3], new Uint8Array([1, 2, 3]))));
    expect([...(await readIdx(path.join(dir, 'ok.gz'))).data]).toEqual([1, 2, 3]);
  });
});

describe('Fashion-MNIST loading', () => {
  it('pads 28x28 to 32x32 centred on black and keeps only the requested classes', async () => {
    const raw = await readIdx(path.join(FIX, 't10k-images-idx3-ubyte.gz'));
    const lab = await readIdx(path.join(FIX, 't10k-labels-idx1-ubyte.gz'));
    const s = await loadFashionMnist(FIX, 't10k', { classes: [7] });
    expect(s.count).toBe(32);
    expect(s.size).toBe(32);
    expect(s.images.length).toBe(32 * 1024);
    expect([...s.labels].every((l) => l === 7)).toBe(true);
    const first = [...lab.data].indexOf(7);
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const inside = y >= 2 && y < 30 && x >= 2 && x < 30;
        const want = inside ? raw.data[first * 784 + (y - 2) * 28 + (x - 2)] : 0;
        expect(s.images[y * 32 + x]).toBe(want);
      }
    }
  });

  it('padImages fills with the given value and refuses to shrink', () => {
    const out = padImages(new Uint8Array([9, 9, 9, 9]), 1, 2, 4, 255);
    expect([...out]).toEqual([255, 255, 255, 255, 255, 9, 9, 255, 255, 9, 9, 255, 255, 255, 255, 255]);
    expect(() => padImages(new Uint8Array(16), 1, 4, 2)).toThrow(/cannot pad/);
  });

  it('names the Debian package when the files are missing', async () => {
    await expect(loadFashionMnist('/nonexistent-fmnist', 'train')).rejects.toThrow(
      /apt-get install dataset-fashion-mnist/,
    );
  });
});
