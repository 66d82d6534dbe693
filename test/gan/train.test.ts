import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTf, tf } from '../../src/tf/index.ts';
import { runTraining, threadingHooks } from '../../src/gan/training-loop.ts';
import { listCheckpoints, setActiveCheckpoint } from '../../src/gan/catalogue.ts';
import { loadGeneratorCheckpoint, loadTrainingCheckpoint, type LoadedTraining } from '../../src/gan/checkpoint-load.ts';
import { readManifest } from '../../src/gan/manifest.ts';
import { buildDiscriminator, buildGenerator } from '../../src/gan/model.ts';
import { DEFAULT_TRAIN_OPTIONS } from '../../src/gan/recipe.ts';
import { GanTrainState, trainStep } from '../../src/gan/train-step.ts';
import { latentsForSeed } from '../../src/gan/latent.ts';
import { generate } from '../../src/gan/generate.ts';
import { syntheticDataset, tempModelsDirs, TINY, TINY_TRAIN } from './helpers.ts';

const newDir = tempModelsDirs();

beforeAll(async () => {
  await initTf('wasm');
});

/** Every float of a checkpoint: G, D weights (incl. BN statistics) and both Adam states. */
function flatten(ck: LoadedTraining): Float32Array[] {
  return [
    ...ck.generator.getWeights().map((t) => t.dataSync() as Float32Array),
    ...ck.discriminator.getWeights().map((t) => t.dataSync() as Float32Array),
    ...ck.optG.m,
    ...ck.optG.v,
    ...ck.optD.m,
    ...ck.optD.v,
  ];
}

describe('training + checkpoints', () => {
  const data = syntheticDataset(24); // 6 steps per epoch at batch 4
  // Freezing ratio > 1 so freezing actually triggers on some steps and the frozen path is exercised.
  const trainOptions = { ...TINY_TRAIN, freezeRatio: 1.6 };

  it('resumes exactly: N steps + save + load + M steps == N+M steps (bitwise)', async () => {
    const straightDir = newDir();
    const straight = await runTraining({
      modelsDir: straightDir,
      dataset: data,
      steps: 11,
      config: TINY,
      trainOptions,
      seed: 5,
    });
    expect(straight.step).toBe(11);
    const resumedDir = newDir();
    const first = await runTraining({
      modelsDir: resumedDir,
      dataset: data,
      steps: 4,
      config: TINY,
      trainOptions,
      seed: 5,
    });
    expect((await readManifest(resumedDir)).active).toBe(first.version);
    // Crosses an epoch boundary (step 6) after the resume.
    const second = await runTraining({ modelsDir: resumedDir, dataset: data, steps: 7, resume: true });
    expect(second.step).toBe(11);
    expect(second.freezeCount).toBe(straight.freezeCount);
    expect(straight.freezeCount).toBeGreaterThan(0);
    expect(straight.freezeCount).toBeLessThan(11);

    const a = await loadTrainingCheckpoint(straightDir);
    const b = await loadTrainingCheckpoint(resumedDir);
    const fa = flatten(a);
    const fb = flatten(b);
    expect(fb.length).toBe(fa.length);
    for (let i = 0; i < fa.length; i++) expect(Buffer.from(fb[i].buffer).equals(Buffer.from(fa[i].buffer))).toBe(true);
    expect(b.meta.trainer.noiseRng).toEqual(a.meta.trainer.noiseRng);
    expect(b.meta.trainer.running).toEqual(a.meta.trainer.running);
    expect(b.meta.parent).toBe(first.version);
    for (const ck of [a, b]) {
      ck.generator.dispose();
      ck.discriminator.dispose();
    }
    const list = await listCheckpoints(resumedDir);
    expect(list.map((c) => c.step)).toEqual([4, 11]);
    expect(list.filter((c) => c.active).map((c) => c.version)).toEqual([second.version]);
  });

  it('loads the generator for the bot; same latents + checkpoint = same pixels', async () => {
    const dir = newDir();
    const run = await runTraining({ modelsDir: dir, dataset: data, steps: 3, config: TINY, trainOptions, seed: 9 });
    const g1 = await loadGeneratorCheckpoint(dir);
    const g2 = await loadGeneratorCheckpoint(dir, run.version);
    expect(g1.version).toBe(run.version);
    expect(g1.step).toBe(3);
    expect(g1.config).toEqual(TINY);
    const lat = latentsForSeed(42, 2, TINY.nz);
    const x1 = await generate(g1.model, lat, 2);
    const x2 = await generate(g2.model, lat, 2);
    expect(Buffer.from(x1.buffer).equals(Buffer.from(x2.buffer))).toBe(true);
    g1.model.dispose();
    g2.model.dispose();
  });

  it('refuses corrupted, incomplete or mismatched checkpoints with a clear message', async () => {
    const dir = newDir();
    const run = await runTraining({ modelsDir: dir, dataset: data, steps: 2, config: TINY, trainOptions, seed: 1 });
    const ck = path.join(dir, 'checkpoints', run.version!);

    // One flipped byte in the generator's weights.
    const wfile = path.join(ck, 'generator', 'weights.bin');
    const good = fs.readFileSync(wfile);
    const bad = Buffer.from(good);
    bad[100] ^= 0xff;
    fs.writeFileSync(wfile, bad);
    await expect(loadGeneratorCheckpoint(dir)).rejects.toThrow(
      new RegExp(`checkpoint ${run.version} is corrupted: generator/weights.bin does not match its sha256 checksum`),
    );
    await expect(setActiveCheckpoint(dir, run.version!)).rejects.toThrow(/corrupted/);
    fs.writeFileSync(wfile, good);

    // Truncated optimizer state.
    const ofile = path.join(ck, 'optimizer.bin');
    const opt = fs.readFileSync(ofile);
    fs.writeFileSync(ofile, opt.subarray(0, opt.length - 8));
    await expect(loadTrainingCheckpoint(dir)).rejects.toThrow(/optimizer.bin does not match/);
    fs.writeFileSync(ofile, opt);

    // Edited metadata (e.g. someone changes the config by hand): checksum of checkpoint.json.
    const mfile = path.join(ck, 'checkpoint.json');
    const metaText = fs.readFileSync(mfile, 'utf8');
    fs.writeFileSync(mfile, metaText.replace('"ngf": 4', '"ngf": 8'));
    await expect(loadGeneratorCheckpoint(dir)).rejects.toThrow(/checkpoint.json does not match its checksum/);
    fs.writeFileSync(mfile, metaText);

    // A missing file.
    fs.renameSync(path.join(ck, 'discriminator', 'model.json'), path.join(ck, 'd.json'));
    await expect(loadTrainingCheckpoint(dir)).rejects.toThrow(/incomplete: discriminator\/model.json is missing/);
    fs.renameSync(path.join(ck, 'd.json'), path.join(ck, 'discriminator', 'model.json'));

    // Unknown version, no manifest.
    await expect(loadGeneratorCheckpoint(dir, 'nope')).rejects.toThrow(/checkpoint nope not found/);
    await expect(loadGeneratorCheckpoint(newDir())).rejects.toThrow(/no active checkpoint.*npm run train/);

    // Intact again: loads.
    const ok = await loadGeneratorCheckpoint(dir);
    ok.model.dispose();
    // No temp directories left behind.
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
  });

  it('refuses to resume a checkpoint with a different architecture', async () => {
    const dir = newDir();
    await runTraining({ modelsDir: dir, dataset: data, steps: 1, config: TINY, trainOptions, seed: 3 });
    await expect(
      runTraining({ modelsDir: dir, dataset: data, steps: 1, resume: true, config: { ngf: 8 } }),
    ).rejects.toThrow(/is ngf=4, not ngf=8: a resumed run keeps its architecture/);
  });

  it('trains data-parallel with --threads 2 (worker replica) and writes a loadable checkpoint', async () => {
    const dir = newDir();
    const hooks = await threadingHooks(2);
    expect(hooks.description).toMatch(/2 threads/);
    try {
      const r = await runTraining({
        modelsDir: dir,
        dataset: data,
        steps: 3,
        config: TINY,
        trainOptions,
        seed: 4,
        stepFn: hooks.stepFn!,
        beforeCheckpoint: hooks.beforeCheckpoint!,
      });
      expect(r.step).toBe(3);
      expect(Number.isFinite(r.lossD)).toBe(true);
    } finally {
      await hooks.close();
    }
    const g = await loadGeneratorCheckpoint(dir);
    expect(g.step).toBe(3);
    g.model.dispose();
  });

  it('refuses a dataset that does not fit the model', async () => {
    await expect(
      runTraining({ modelsDir: newDir(), dataset: data, steps: 1, config: { ...TINY, imageSize: 64 }, trainOptions }),
    ).rejects.toThrow(/32x32x1 images but the model is 64x64x1/);
  });

  it('leaks no tensors around train steps and a full run', async () => {
    const st = new GanTrainState(buildGenerator(TINY, 1), buildDiscriminator(TINY, 2), {
      ...DEFAULT_TRAIN_OPTIONS,
      ...TINY_TRAIN,
      freezeRatio: 10, // freezes every step after the first: the frozen path is covered too
    });
    const real = tf.tensor4d(new Float32Array(4 * 32 * 32).fill(0.5), [4, 32, 32, 1]);
    const z = tf.tensor2d(latentsForSeed(1, 4, TINY.nz), [4, TINY.nz]);
    trainStep(st, real, z); // first step may set up kernels
    const before = tf.memory().numTensors;
    let frozen = 0;
    for (let i = 0; i < 4; i++) frozen += trainStep(st, real, z).frozen ? 1 : 0;
    expect(tf.memory().numTensors).toBe(before);
    expect(frozen).toBe(4);
    st.opts.freezing = false;
    for (let i = 0; i < 2; i++) expect(trainStep(st, real, z).frozen).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([real, z]);
    st.dispose();
    st.generator.dispose();
    st.discriminator.dispose();

    const beforeRun = tf.memory().numTensors;
    await runTraining({ modelsDir: newDir(), dataset: data, steps: 3, config: TINY, trainOptions, seed: 2 });
    expect(tf.memory().numTensors).toBe(beforeRun);
  });

  it('stops at a step boundary on request and still writes a consistent checkpoint', async () => {
    const dir = newDir();
    let n = 0;
    const r = await runTraining({
      modelsDir: dir,
      dataset: data,
      steps: 50,
      config: TINY,
      trainOptions,
      shouldStop: () => ++n > 3,
    });
    expect(r.stopped).toBe(true);
    expect(r.step).toBe(3);
    const g = await loadGeneratorCheckpoint(dir);
    expect(g.step).toBe(3);
    g.model.dispose();
  });
});
