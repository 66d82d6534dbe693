import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/data/dataset.ts';
import { importFolder, prepareImage } from '../../src/data/folder.ts';
import { tempDir } from '../helpers/temp.ts';

let src: string;

/** A landscape product shot: a dark red "shoe" on white, like UT Zappos50K's 136x102 JPEGs. */
async function shoe(file: string, w: number, h: number, fmt: 'jpeg' | 'png' | 'webp'): Promise<void> {
  const raw = new Uint8Array(w * h * 3).fill(255);
  for (let y = Math.floor(h * 0.4); y < Math.floor(h * 0.8); y++)
    for (let x = Math.floor(w * 0.1); x < Math.floor(w * 0.9); x++) raw.set([150, 20, 30], (y * w + x) * 3);
  await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .toFormat(fmt)
    .toFile(file);
}

beforeAll(async () => {
  src = tempDir('folder-src-');
  fs.mkdirSync(path.join(src, 'sub'));
  for (let i = 0; i < 8; i++) await shoe(path.join(src, `shoe${i}.jpg`), 136, 102, 'jpeg');
  await shoe(path.join(src, 'sub', 'tall.png'), 40, 90, 'png');
  await shoe(path.join(src, 'sub', 'x.webp'), 50, 50, 'webp');
  // Transparent PNG: transparency must come out white, like the background.
  await sharp({ create: { width: 20, height: 20, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .png()
    .toFile(path.join(src, 'clear.png'));
  fs.writeFileSync(path.join(src, 'corrupt.jpg'), Buffer.from('this is not a jpeg'));
  const good = fs.readFileSync(path.join(src, 'shoe0.jpg'));
  fs.writeFileSync(path.join(src, 'truncated.jpg'), good.subarray(0, Math.floor(good.length / 2)));
  fs.writeFileSync(path.join(src, 'notes.txt'), 'not an image');
});

describe('folder import', () => {
  it('pads to a square on white, resizes, reports unreadable files and keeps going', async () => {
    const out = path.join(tempDir('folder-out-'), 'datasets', 'shoes');
    const res = await importFolder({
      dir: src,
      outDir: out,
      name: 'shoes',
      size: 16,
      channels: 3,
      heldoutFraction: 0.25,
      silent: true,
    });
    expect(res.skipped.map((s) => s.file)).toEqual(['corrupt.jpg', 'truncated.jpg']);
    for (const s of res.skipped) expect(s.reason.length).toBeGreaterThan(5);
    expect(res.ignored).toBe(1);
    // 11 readable images: round(0.25 * 11) = 3 held out.
    expect(res.meta).toMatchObject({
      trainCount: 8,
      heldoutCount: 3,
      height: 16,
      width: 16,
      channels: 3,
      background: 'white',
    });

    const ds = await loadDataset(out);
    const px = (img: Uint8Array, i: number, x: number, y: number) => [
      ...img.subarray((i * 256 + y * 16 + x) * 3, (i * 256 + y * 16 + x) * 3 + 3),
    ];
    // Every image: white corners (padding / background), and something dark red somewhere unless it is the clear PNG.
    let reddish = 0;
    for (const [img, n] of [
      [ds.train, 8],
      [ds.heldout, 3],
    ] as const) {
      for (let i = 0; i < n; i++) {
        expect(px(img, i, 0, 0).every((v) => v > 240)).toBe(true);
        expect(px(img, i, 15, 15).every((v) => v > 240)).toBe(true);
        const mid = px(img, i, 8, 10);
        if (mid[0] > 100 && mid[1] < 80) reddish++;
      }
    }
    expect(reddish).toBeGreaterThanOrEqual(9);

    // Deterministic: the same folder gives the same dataset, whatever the decode order.
    const out2 = path.join(path.dirname(out), 'again');
    const res2 = await importFolder({
      dir: src,
      outDir: out2,
      name: 'again',
      size: 16,
      channels: 3,
      heldoutFraction: 0.25,
      concurrency: 1,
      silent: true,
    });
    expect(res2.meta.fingerprint).toBe(res.meta.fingerprint);
  });

  it('imports grey at another size', async () => {
    const out = path.join(tempDir('folder-out-'), 'grey');
    const res = await importFolder({ dir: src, outDir: out, name: 'grey', size: 8, channels: 1, silent: true });
    expect(res.meta.channels).toBe(1);
    expect(res.meta.trainCount + res.meta.heldoutCount).toBe(11);
    expect(res.meta.heldoutCount).toBe(1);
    const ds = await loadDataset(out);
    expect(ds.train.length).toBe(res.meta.trainCount * 64);
  });

  it('prepareImage keeps the aspect ratio: a 136x102 photo gets white bars above and below', async () => {
    const img = await prepareImage(path.join(src, 'shoe1.jpg'), 32, 1);
    expect(img.length).toBe(32 * 32);
    // The shoe band spans 40%..80% of the photo's height, i.e. rows ~14..26 after padding to 136x136.
    expect(img[2 * 32 + 16]).toBeGreaterThan(240);
    expect(img[20 * 32 + 16]).toBeLessThan(120);
  });

  it('fails clearly on a missing folder or one without images', async () => {
    await expect(importFolder({ dir: '/nonexistent/dir', outDir: '/tmp/x', name: 'x', silent: true })).rejects.toThrow(
      /not a readable directory/,
    );
    const empty = tempDir('folder-empty-');
    fs.writeFileSync(path.join(empty, 'a.txt'), 'x');
    await expect(importFolder({ dir: empty, outDir: path.join(empty, 'o'), name: 'o', silent: true })).rejects.toThrow(
      /no image files/,
    );
    fs.writeFileSync(path.join(empty, 'b.png'), 'garbage');
    await expect(importFolder({ dir: empty, outDir: path.join(empty, 'o'), name: 'o', silent: true })).rejects.toThrow(
      /none of the 1 image files/,
    );
  });
});
