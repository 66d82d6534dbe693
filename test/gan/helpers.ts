/** Shared fixtures for the GAN tests: a tiny synthetic dataset and model settings. */
import { tempDir } from '../helpers/temp.ts';
import type { Dataset } from '../../src/data/dataset.ts';
import { Rng } from '../../src/gan/latent.ts';
import type { GanConfig } from '../../src/gan/model.ts';
import type { TrainOptions } from '../../src/gan/recipe.ts';

export const TINY: GanConfig = { imageSize: 32, channels: 1, nz: 8, ngf: 4, ndf: 4 };

/** `count` 32x32 grey images of bright rectangles on black (uint8), deterministic. */
export function syntheticDataset(count = 24, heldout = 8, name = 'synthetic'): Dataset {
  const rng = new Rng(123);
  const make = (n: number): Uint8Array => {
    const out = new Uint8Array(n * 32 * 32);
    for (let i = 0; i < n; i++) {
      const x0 = 4 + rng.int(8);
      const y0 = 8 + rng.int(8);
      const w = 10 + rng.int(10);
      const h = 6 + rng.int(6);
      for (let y = y0; y < y0 + h; y++)
        for (let x = x0; x < x0 + w; x++) out[i * 1024 + y * 32 + x] = 180 + rng.int(70);
    }
    return out;
  };
  const train = make(count);
  const held = make(heldout);
  return {
    meta: {
      name,
      source: 'synthetic test rectangles',
      height: 32,
      width: 32,
      channels: 1,
      trainCount: count,
      heldoutCount: heldout,
      fingerprint: `synthetic-${count}-${heldout}`,
      background: 'black',
      formatVersion: 1,
    },
    train,
    heldout: held,
  };
}

export const TINY_TRAIN: Partial<TrainOptions> = { batchSize: 4 };

/** A fresh temporary models directory, removed after the test file. */
export function tmpModelsDir(): string {
  return tempDir('shoebot-models-');
}

/** A maker of fresh temporary models directories, all removed after the file's tests. */
export function tempModelsDirs(): () => string {
  return tmpModelsDir;
}
