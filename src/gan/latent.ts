/**
 * Seeded randomness for the GAN, computed in plain JavaScript so the same seed
 * gives the same bytes on every TensorFlow.js backend (tfjs's own random ops
 * depend on the backend and carry hidden global state).
 *
 * PRNG: sfc32 (small, fast, 128-bit state, passes PractRand) seeded through
 * splitmix32; normals: Box-Muller, both values of each pair used. The whole
 * state (four words + a cached spare normal) is serialisable, which the
 * training loop stores in checkpoints for exact resume.
 */

/** Serialisable generator state: sfc32's four words and the cached second Box-Muller value. */
export interface RngState {
  s: [number, number, number, number];
  spare: number | null;
}

function splitmix32(x: number): () => number {
  let a = x >>> 0;
  return () => {
    a = (a + 0x9e3779b9) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A seeded pseudo-random generator with uniform, normal and shuffle helpers. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | null = null;

  /** Any finite number is a valid seed; integers up to 2^53 are all distinct. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number, got ${seed}`);
    const s = Math.trunc(seed);
    const lo = s >>> 0;
    const hi = Math.floor(s / 4294967296) >>> 0;
    const mix = splitmix32(lo ^ Math.imul(hi, 0x27d4eb2d));
    this.a = mix();
    this.b = mix() ^ hi;
    this.c = mix();
    this.d = 1;
    // Warm up: sfc32's first outputs are correlated with the seed.
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }

  getState(): RngState {
    return { s: [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0], spare: this.spare };
  }

  setState(state: RngState): void {
    [this.a, this.b, this.c, this.d] = state.s.map((v) => v >>> 0) as [number, number, number, number];
    this.spare = state.spare;
  }

  nextU32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Standard normal (Box-Muller; the second value of each pair is cached). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    // 1 - u is in (0, 1], so log() never sees 0.
    const u1 = 1 - this.uniform();
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Fills a Float32Array with N(mean, std) values. */
  normalArray(count: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    // Rejection sampling keeps it unbiased for any n < 2^32.
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** A permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

/**
 * `count` latent vectors of size `nz`, row-major ([count, nz]), standard
 * Gaussian, fully determined by `seed`. Latent i of a seed does not depend on
 * `count`, so one design of a grid can be regenerated alone.
 */
export function latentsForSeed(seed: number, count: number, nz: number): Float32Array {
  if (!Number.isInteger(count) || count < 0) throw new Error(`count must be a non-negative integer, got ${count}`);
  if (!Number.isInteger(nz) || nz < 1) throw new Error(`nz must be a positive integer, got ${nz}`);
  return new Rng(seed).normalArray(count * nz);
}

/**
 * Latents near `base` ([nz]): base + sigma * N(0, 1) per variation, seeded.
 * Used for "variations" of a design. Returns [count, nz].
 */
export function variationsOf(base: Float32Array, seed: number, count: number, sigma = 0.35): Float32Array {
  const nz = base.length;
  const rng = new Rng(seed);
  const out = new Float32Array(count * nz);
  for (let i = 0; i < count; i++) for (let j = 0; j < nz; j++) out[i * nz + j] = base[j] + sigma * rng.normal();
  return out;
}
