/**
 * The generation service with real (tiny) generators on WASM: batching of
 * concurrent requests, results equal to unbatched ones, admission control,
 * and hot-swap that never fails a request and frees the old model only after
 * its pass is done.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initTf, tf } from '../../src/tf/index.ts';
import { generate } from '../../src/gan/generate.ts';
import { latentsForSeed } from '../../src/gan/latent.ts';
import { GenerationService } from '../../src/bot/generation.ts';
import { BusyError, RateLimitedError, UserError } from '../../src/bot/errors.ts';
import { TINY_GAN, tinyGenerator } from './harness.ts';

beforeAll(async () => {
  await initTf('wasm');
});

const nz = TINY_GAN.nz;

describe('GenerationService', () => {
  it('batches requests that arrive during a pass into one pass, with the same pixels as alone', async () => {
    const svc = new GenerationService({ maxBatch: 16 });
    const g = tinyGenerator('v1');
    await svc.swap(g);
    const t0 = tf.memory().numTensors;
    const reqs = [1, 2, 3, 4].map((seed) => svc.generate(latentsForSeed(seed, 3, nz), 3));
    const results = await Promise.all(reqs);
    // First request starts a pass at once; the other three share the next.
    expect(svc.stats.passes).toBe(2); // the warm-up pass is not counted
    expect(svc.stats.largestPass).toBe(9);
    for (const [i, r] of results.entries()) {
      expect(r.shape).toEqual({ n: 3, h: 32, w: 32, c: 1 });
      expect(r.version).toBe('v1');
      const alone = await generate(g.model, latentsForSeed(i + 1, 3, nz), 3);
      expect(Array.from(r.pixels)).toEqual(Array.from(alone));
    }
    expect(tf.memory().numTensors).toBe(t0);
    await svc.close();
  });

  it('splits work that exceeds maxBatch over several passes', async () => {
    const svc = new GenerationService({ maxBatch: 4 });
    await svc.swap(tinyGenerator('v1'));
    const results = await Promise.all([0, 1, 2, 3, 4].map((s) => svc.generate(latentsForSeed(s, 2, nz), 2)));
    expect(results).toHaveLength(5);
    expect(svc.stats.largestPass).toBeLessThanOrEqual(4);
    await expect(svc.generate(latentsForSeed(1, 5, nz), 5)).rejects.toThrow(/n must be 1..4/);
    await svc.close();
  });

  it('rate-limits per user, bounds the queue, and refuses work without a generator or after close', async () => {
    let now = 0;
    const svc = new GenerationService({
      rateLimit: { count: 2, windowMs: 1000 },
      maxQueue: 1,
      now: () => now,
      exemptUserIds: ['admin'],
    });
    expect(() => svc.admit('u1')).toThrow(/No sneaker generator is loaded/);
    await svc.swap(tinyGenerator('v1'));
    // Released at once: maxQueue 1 would otherwise refuse the second as busy.
    svc.admit('u1').release();
    svc.admit('u1').release();
    expect(() => svc.admit('u1')).toThrow(RateLimitedError);
    try {
      svc.admit('u1');
    } catch (e) {
      expect((e as RateLimitedError).retryAfterMs).toBe(1000);
      expect((e as Error).message).toBe("You're generating a lot of sneakers! Try again in 1 s.");
    }
    svc.admit('u2').release();
    for (let i = 0; i < 5; i++) svc.admit('admin').release();
    now = 1000;
    svc.admit('u1').release();

    // maxQueue 1: one running + one waiting; the third is refused.
    const a = svc.generate(latentsForSeed(1, 1, nz), 1);
    const b = svc.generate(latentsForSeed(2, 1, nz), 1);
    const c = svc.generate(latentsForSeed(3, 1, nz), 1);
    expect(() => svc.admit('u3')).toThrow(BusyError);
    await expect(c).rejects.toBeInstanceOf(BusyError);
    await Promise.all([a, b]);
    await svc.close();
    await expect(svc.generate(latentsForSeed(1, 1, nz), 1)).rejects.toBeInstanceOf(UserError);
    expect(() => svc.admit('u4')).toThrow(/restarting/);
  });

  it('admits a multi-pass request (a /blend) only when all its passes fit in the queue', async () => {
    const svc = new GenerationService({ maxQueue: 2 });
    await svc.swap(tinyGenerator('v1'));
    const running = svc.generate(latentsForSeed(3, 1, nz), 1);
    const waiting = svc.generate(latentsForSeed(4, 1, nz), 1); // waits for its pass
    expect(svc.queueLength).toBe(1);
    svc.admit('u1').release(); // one more pass fits
    expect(() => svc.admit('u2', 2)).toThrow(BusyError); // two don't: refused before the reply is deferred
    await Promise.all([running, waiting]);
    svc.admit('u2', 3).release(); // idle: more passes than the queue holds may still start (they run back to back)
    await svc.close();
  });

  it('bounds the work admitted, not only the queue: a place is held from admit() to release()', async () => {
    const svc = new GenerationService({ maxQueue: 3 });
    await svc.swap(tinyGenerator('v1'));
    // Nothing is queued yet (the requests are deferring their replies), yet three places are taken.
    const held = [svc.admit('u1'), svc.admit('u2', 2)];
    expect(svc.queueLength).toBe(0);
    expect(svc.admitted).toBe(3);
    expect(() => svc.admit('u3')).toThrow(BusyError);
    held[0].release();
    held[0].release(); // idempotent: frees one place, not two
    const third = svc.admit('u3');
    expect(() => svc.admit('u4')).toThrow(BusyError);
    // withAdmission releases when the work settles, also when it fails.
    third.release();
    await expect(svc.withAdmission('u5', 1, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(svc.admitted).toBe(2);
    held[1].release();
    expect(svc.admitted).toBe(0);
    expect(svc.stats.peakAdmitted).toBe(3);
    await svc.close();
  });

  it('hot-swaps under continuous requests: none fails, later ones use the new version, the old model is freed after its pass', async () => {
    const svc = new GenerationService({ maxBatch: 8 });
    const t0 = tf.memory().numTensors;
    const v1 = tinyGenerator('v1', 1);
    await svc.swap(v1);
    const v2 = tinyGenerator('v2', 2);
    const results: { version: string; afterSwap: boolean }[] = [];
    let swapped = false;
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) {
      const after = swapped;
      inflight.push(
        svc
          .generate(latentsForSeed(i, 2, nz), 2)
          .then((r) => void results.push({ version: r.version, afterSwap: after })),
      );
      if (i === 15) {
        // Swap while a pass of v1 is running.
        await svc.swap(v2);
        swapped = true;
        expect(svc.active?.version).toBe('v2');
      }
      if (i % 5 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(inflight);
    expect(results).toHaveLength(40);
    expect(results.filter((r) => r.afterSwap).every((r) => r.version === 'v2')).toBe(true);
    expect(results.some((r) => r.version === 'v1')).toBe(true);
    // v1's weights are gone; v2 still works.
    expect(() => v1.model.predict(tf.zeros([1, nz]))).toThrow();
    await svc.generate(latentsForSeed(1, 1, nz), 1);
    await svc.close();
    expect(tf.memory().numTensors).toBe(t0 + 1 /* the tf.zeros above */);
  });

  it('keeps the current generator when the new one fails its warm-up', async () => {
    const svc = new GenerationService();
    await svc.swap(tinyGenerator('v1'));
    const broken = tinyGenerator('broken');
    broken.model.dispose();
    await expect(svc.swap(broken)).rejects.toThrow();
    expect(svc.active?.version).toBe('v1');
    expect((await svc.generate(latentsForSeed(1, 1, nz), 1)).version).toBe('v1');
    await svc.close();
  });
});
