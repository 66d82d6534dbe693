import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkDatasetName,
  datasetDir,
  fingerprintPixels,
  loadDataset,
  resolveDatasetDir,
  toUnitRange,
  writeDataset,
} from '../../src/data/dataset.ts';
import { importFashionMnist } from '../../src/data/fashion-mnist.ts';
import { tempDir } from '../helpers/temp.ts';

const FIX = path.resolve(import.meta.dirname, '../fixtures/fashion-mnist-mini');
const tmp = (): string => tempDir('ds-');

describe('packed datasets', () => {
  it('imports the Fashion-MNIST fixture: train sneakers + held-out t10k sneakers, 32x32x1, with meta.json', async () => {
    const dataDir = tmp();
    const out = datasetDir(dataDir, 'sneakers');
    const meta = await importFashionMnist({ outDir: out, name: 'sneakers', fmnistDir: FIX, silent: true });
    expect(meta).toMatchObject({
      name: 'sneakers',
      height: 32,
      width: 32,
      channels: 1,
      trainCount: 64,
      heldoutCount: 32,
      background: 'black',
    });
    expect(meta.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(fs.readdirSync(out).sort()).toEqual(['heldout.u8', 'meta.json', 'train.u8']);
    expect(fs.statSync(path.join(out, 'train.u8')).size).toBe(64 * 1024);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'meta.json'), 'utf8'))).toEqual(meta);

    const ds = await loadDataset(resolveDatasetDir('sneakers', dataDir));
    expect(ds.meta).toEqual(meta);
    expect(ds.train.length).toBe(64 * 1024);
    expect(ds.heldout.length).toBe(32 * 1024);
    expect(fingerprintPixels(ds.meta, ds.train, ds.heldout)).toBe(meta.fingerprint);

    // Re-importing the same data gives the same bytes and fingerprint.
    const again = await importFashionMnist({ outDir: out, name: 'sneakers', fmnistDir: FIX, silent: true });
    expect(again.fingerprint).toBe(meta.fingerprint);
    // Another class gives another fingerprint.
    const boots = await importFashionMnist({
      outDir: datasetDir(dataDir, 'boots'),
      name: 'boots',
      fmnistDir: FIX,
      classId: 9,
      silent: true,
    });
    expect(boots.fingerprint).not.toBe(meta.fingerprint);
    expect(boots.trainCount).toBe(5);
  });

  it('round-trips arbitrary RGB data and refuses edited or truncated files', async () => {
    const dir = path.join(tmp(), 'rgb');
    const train = Uint8Array.from({ length: 3 * 4 * 4 * 3 }, (_, i) => (i * 31) % 256);
    const heldout = Uint8Array.from({ length: 1 * 4 * 4 * 3 }, (_, i) => (i * 17) % 256);
    const meta = await writeDataset(dir, {
      name: 'rgb',
      source: 'test',
      height: 4,
      width: 4,
      channels: 3,
      background: 'white',
      train,
      heldout,
    });
    expect(meta.trainCount).toBe(3);
    expect(meta.heldoutCount).toBe(1);
    const ds = await loadDataset(dir);
    expect([...ds.train]).toEqual([...train]);
    expect([...ds.heldout]).toEqual([...heldout]);
    // No temporary directories left next to it.
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['rgb']);

    const file = path.join(dir, 'train.u8');
    const edited = Buffer.from(train);
    edited[5] ^= 1;
    fs.writeFileSync(file, edited);
    await expect(loadDataset(dir)).rejects.toThrow(/does not match its fingerprint/);
    expect((await loadDataset(dir, { verify: false })).train[5]).toBe(edited[5]);
    fs.writeFileSync(file, edited.subarray(0, 10));
    await expect(loadDataset(dir)).rejects.toThrow(/expected 3 images/);
    await expect(loadDataset(path.join(dir, 'nope'))).rejects.toThrow(/missing meta.json/);
  });

  it('validates names and buffer sizes, and explains a missing dataset', async () => {
    expect(() => checkDatasetName('../evil')).toThrow(/invalid dataset name/);
    expect(checkDatasetName('zappos-64_rgb.v2')).toBe('zappos-64_rgb.v2');
    await expect(
      writeDataset(path.join(tmp(), 'x'), {
        name: 'x',
        source: 't',
        height: 2,
        width: 2,
        channels: 1,
        background: 'black',
        train: new Uint8Array(5),
        heldout: new Uint8Array(0),
      }),
    ).rejects.toThrow(/whole number/);
    expect(() => resolveDatasetDir('missing', tmp())).toThrow(/npm run data:import/);
  });

  it('toUnitRange maps 0..255 to [-1, 1]', () => {
    const f = toUnitRange(new Uint8Array([0, 255, 128, 7]), 2, 0);
    expect(f[0]).toBe(-1);
    expect(f[1]).toBe(1);
    expect(f[2]).toBeCloseTo(0.00392, 4);
    expect(toUnitRange(new Uint8Array([0, 255, 128, 7]), 2, 1).length).toBe(2);
  });
});
