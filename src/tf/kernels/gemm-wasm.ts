/**
 * shoebot's own single-precision matrix kernel, emitted as WebAssembly SIMD at start-up and run in
 * place on the tfjs WASM backend's heap (it imports that module's memory). Every convolution of a
 * training step (forward, input gradient, filter gradient) is one call of it: XNNPACK's kernels in
 * tfjs-backend-wasm reach ~22 GFLOP/s on one core here, and can use neither FMA (relaxed SIMD) nor
 * a convolution's input in place for a filter gradient.
 *
 * The kernel computes tiles of MR rows x 8 columns of C = A * B, where
 * - row r of A is read at its own address (a table of row addresses: rows of an implicit im2col
 *   matrix are pixels of a padded NHWC image, so no im2col copy is made), one f32 per step;
 * - B is read 8 floats at a time, at a "panel" base (8 columns) plus a step offset;
 * - the reduction runs three nested loops (n3, n2, n1), each with its own address step for A and
 *   for B, which is how one call walks a filter's rows, taps or a batch's pixels;
 * - C rows are written at their own addresses (a second table), 8 floats per panel, optionally
 *   adding to what is there.
 * The same module carries three small SIMD passes used beside it (emitted by simd-passes.ts):
 * per-channel column sums (batch norm's statistics) and leaky ReLU forward and backward.
 */
import v8 from 'node:v8';
import { emitColumnSums, emitLeakyRelu, emitLeakyReluGrad } from './simd-passes.ts';
import { Code, I32, V128, emitModule } from './wasm-emit.ts';

/** A WebAssembly.Memory (the project's TypeScript lib has no WebAssembly declarations). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
const WA = (
  globalThis as unknown as {
    WebAssembly: {
      validate(bytes: Uint8Array): boolean;
      Module: new (bytes: Uint8Array) => object;
      Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
    };
  }
).WebAssembly;

/** Rows per tile: 4 x 2 accumulators + 2 B vectors + 1 A splat fit the 16 XMM registers V8 uses. */
export const MR = 4;
/** Columns per panel (two f32x4). */
export const NR = 8;

/** Which arithmetic the emitted kernel uses: fused multiply-add (relaxed SIMD) or mul + add. */
export type GemmFlavour = 'fma' | 'simd';

/** The parameters of `gemm`, in order (all i32; addresses and steps in bytes). */
const P = {
  tabA: 0,
  tabC: 1,
  tiles: 2,
  panels: 3,
  b: 4,
  panelStride: 5,
  n3: 6,
  as3: 7,
  bs3: 8,
  n2: 9,
  as2: 10,
  bs2: 11,
  n1: 12,
  as1: 13,
  bs1: 14,
  accumulate: 15,
  aOff: 16,
  cOff0: 17,
} as const;
const N_PARAMS = 18;

/** The gemm function's locals: i32 ones first, then the v128 accumulators and operands. */
function gemmLocals() {
  let next = N_PARAMS;
  const local = (): number => next++;
  const tile = local(),
    panel = local(),
    cOff = local();
  const a = Array.from({ length: MR }, local);
  const c = Array.from({ length: MR }, local);
  const i3 = local(),
    i2 = local(),
    i1 = local();
  const ka3 = local(),
    kb3 = local(),
    ka2 = local(),
    kb2 = local(),
    ka = local(),
    kb = local();
  const nI32 = next - N_PARAMS;
  const acc = Array.from({ length: MR * 2 }, local);
  const b0 = local(),
    b1 = local(),
    av = local();
  const nV128 = next - N_PARAMS - nI32;
  return { tile, panel, cOff, a, c, i3, i2, i1, ka3, kb3, ka2, kb2, ka, kb, acc, b0, b1, av, nI32, nV128 };
}
type GemmLocals = ReturnType<typeof gemmLocals>;

/** C's current values into the accumulators (accumulate), else zeros. */
function emitStartAccumulators(k: Code, L: GemmLocals): void {
  k.get(P.accumulate).ifElse(
    () => {
      for (let r = 0; r < MR; r++) {
        for (let h = 0; h < 2; h++)
          k.get(L.c[r])
            .get(L.cOff)
            .add()
            .v128Load(h * 16)
            .set(L.acc[r * 2 + h]);
      }
    },
    () => {
      for (const v of L.acc) k.v128Zero().set(v);
    },
  );
}

/** The three nested reduction loops of one tile and panel: per step, acc[r] += A[r][k] * B[k] (8 columns). */
function emitReduction(k: Code, L: GemmLocals, flavour: GemmFlavour): void {
  const countdown = (counter: number) => k.get(counter).i32(1).sub().tee(counter).brIf();
  const bump = (v: number, step: number) => k.get(v).get(step).add().set(v);
  k.get(P.aOff).set(L.ka3);
  k.get(P.b).get(L.panel).get(P.panelStride).mul().add().set(L.kb3);
  k.get(P.n3).set(L.i3);
  k.loop(() => {
    k.get(L.ka3).set(L.ka2).get(L.kb3).set(L.kb2).get(P.n2).set(L.i2);
    k.loop(() => {
      k.get(L.ka2).set(L.ka).get(L.kb2).set(L.kb).get(P.n1).set(L.i1);
      k.loop(() => {
        k.get(L.kb).v128Load(0).set(L.b0);
        k.get(L.kb).v128Load(16).set(L.b1);
        for (let r = 0; r < MR; r++) {
          k.get(L.a[r]).get(L.ka).add().load32Splat().set(L.av);
          for (let h = 0; h < 2; h++) {
            const x = L.acc[r * 2 + h];
            if (flavour === 'fma')
              k.get(L.av)
                .get(h ? L.b1 : L.b0)
                .get(x)
                .f32x4RelaxedMadd()
                .set(x);
            else
              k.get(x)
                .get(L.av)
                .get(h ? L.b1 : L.b0)
                .f32x4Mul()
                .f32x4Add()
                .set(x);
          }
        }
        bump(L.ka, P.as1);
        bump(L.kb, P.bs1);
        countdown(L.i1);
      });
      bump(L.ka2, P.as2);
      bump(L.kb2, P.bs2);
      countdown(L.i2);
    });
    bump(L.ka3, P.as3);
    bump(L.kb3, P.bs3);
    countdown(L.i3);
  });
}

/** The module: `gemm` (tiles x panels, each reduced by emitReduction) and the SIMD passes of simd-passes.ts. */
function emitGemm(flavour: GemmFlavour): Uint8Array {
  const L = gemmLocals();
  const k = new Code();
  k.i32(0).set(L.tile);
  k.loop(() => {
    for (let r = 0; r < MR; r++) {
      k.get(P.tabA)
        .get(L.tile)
        .i32(MR * 4)
        .mul()
        .add()
        .loadI32(r * 4)
        .set(L.a[r]);
      k.get(P.tabC)
        .get(L.tile)
        .i32(MR * 4)
        .mul()
        .add()
        .loadI32(r * 4)
        .set(L.c[r]);
    }
    k.i32(0).set(L.panel).get(P.cOff0).set(L.cOff);
    k.loop(() => {
      emitStartAccumulators(k, L);
      emitReduction(k, L, flavour);
      for (let r = 0; r < MR; r++) {
        for (let h = 0; h < 2; h++)
          k.get(L.c[r])
            .get(L.cOff)
            .add()
            .get(L.acc[r * 2 + h])
            .v128Store(h * 16);
      }
      k.get(L.cOff)
        .i32(NR * 4)
        .add()
        .set(L.cOff);
      k.get(L.panel).i32(1).add().tee(L.panel).get(P.panels).sub().brIf();
    });
    k.get(L.tile).i32(1).add().tee(L.tile).get(P.tiles).sub().brIf();
  });

  return emitModule([
    {
      exportName: 'gemm',
      params: new Array<number>(N_PARAMS).fill(I32),
      locals: [
        [L.nI32, I32],
        [L.nV128, V128],
      ],
      code: k,
    },
    emitColumnSums(),
    emitLeakyRelu(),
    emitLeakyReluGrad(),
  ]);
}

/** One reduction level: how many steps, and the byte steps of A and B per step. */
export interface Level {
  n: number;
  aStep: number;
  bStep: number;
}

export interface GemmCall {
  /** Byte address of an i32 table: MR row addresses of A per tile. */
  tabA: number;
  /** Byte address of an i32 table: MR row addresses of C per tile. */
  tabC: number;
  tiles: number;
  panels: number;
  /** Byte address of panel 0 of B; panel p starts at b + p * panelStride. */
  b: number;
  panelStride: number;
  /** Reduction loops, outermost first (three; use { n: 1, aStep: 0, bStep: 0 } for unused ones). */
  levels: [Level, Level, Level];
  /** Add to C instead of overwriting it. */
  accumulate: boolean;
  /**
   * Bytes of B one panel reads per step of the outermost level, when B is packed per panel
   * (enables cache blocking); omitted for B read in place.
   */
  bBytesPerPanelStep?: number;
}

/** Bytes of B one call may walk per tile (about a quarter of the L2 cache here). */
const B_BLOCK_BYTES = 512 * 1024;
/** Bytes of A one tile reads per call before it is split: a half of the 32 KiB L1 data cache. */
const A_TILE_BYTES = 16 * 1024;

export interface GemmKernel {
  flavour: GemmFlavour;
  run(call: GemmCall): void;
  /**
   * Sums over `rows` rows of `groups` f32x4 column groups (row stride `rowBytes`) at `src` into
   * `groups` f32x4 at `dst`, in float32 and row order. Byte addresses; rows >= 1, groups >= 1.
   */
  columnSums(src: number, rows: number, groups: number, rowBytes: number, dst: number): void;
  /** `groups` f32x4 at `src` -> leaky ReLU at `dst` (0 <= alpha <= 1). */
  leakyRelu(src: number, dst: number, groups: number, alpha: number): void;
  /** `groups` f32x4 of dy and x -> x > 0 ? dy : dy * alpha at `dst`. */
  leakyReluGrad(dy: number, x: number, dst: number, groups: number, alpha: number): void;
}

/** Whether this V8 validates relaxed SIMD, turning on Node 20's flag for it if needed. */
function relaxedSimdAvailable(sample: Uint8Array): boolean {
  if (WA.validate(sample)) return true;
  // Node 20 (V8 11.3) has relaxed SIMD behind a flag; it is on by default from V8 11.4 (Node 22).
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return WA.validate(sample);
}

export interface GemmOptions {
  /** Force a flavour (tests compare both); by default FMA when this V8 runs relaxed SIMD. */
  prefer?: GemmFlavour;
  /** Cache-blocking sizes (tests make them small to exercise the split paths). */
  bBlockBytes?: number;
  aTileBytes?: number;
}

/**
 * The kernel instantiated on `memory` (the tfjs WASM backend's).
 */
export function createGemmKernel(memory: WasmMemory, opts: GemmOptions = {}): GemmKernel {
  const bBlock = opts.bBlockBytes ?? B_BLOCK_BYTES;
  const aTile = opts.aTileBytes ?? A_TILE_BYTES;
  let flavour: GemmFlavour = opts.prefer ?? 'fma';
  let bytes = emitGemm('fma');
  if (flavour === 'fma' && !relaxedSimdAvailable(bytes)) flavour = 'simd';
  if (flavour === 'simd') bytes = emitGemm('simd');
  const instance = new WA.Instance(new WA.Module(bytes), { env: { memory } });
  const gemm = instance.exports.gemm as (...args: number[]) => void;
  const colsum = instance.exports.colsum as (...args: number[]) => void;
  const lrelu = instance.exports.lrelu as (...args: number[]) => void;
  const lreluGrad = instance.exports.lreluGrad as (...args: number[]) => void;
  const call = (
    c: GemmCall,
    aOff: number,
    bOff: number,
    p0: number,
    panels: number,
    l3: Level,
    accumulate: boolean,
  ) => {
    const [, l2, l1] = c.levels;
    gemm(
      c.tabA,
      c.tabC,
      c.tiles,
      panels,
      c.b + bOff + p0 * c.panelStride,
      c.panelStride,
      l3.n,
      l3.aStep,
      l3.bStep,
      l2.n,
      l2.aStep,
      l2.bStep,
      l1.n,
      l1.aStep,
      l1.bStep,
      accumulate ? 1 : 0,
      aOff,
      p0 * NR * 4,
    );
  };
  return {
    flavour,
    columnSums(src, rows, groups, rowBytes, dst) {
      if (rows <= 0 || groups <= 0) throw new Error('columnSums: empty call');
      colsum(src, rows, groups, rowBytes, dst);
    },
    leakyRelu(src, dst, groups, alpha) {
      if (groups > 0) lrelu(src, dst, groups, alpha);
    },
    leakyReluGrad(dy, x, dst, groups, alpha) {
      if (groups > 0) lreluGrad(dy, x, dst, groups, alpha);
    },
    run(c) {
      const [l3, l2, l1] = c.levels;
      if (c.tiles <= 0 || c.panels <= 0 || l3.n <= 0 || l2.n <= 0 || l1.n <= 0) throw new Error('gemm: empty call');
      // Cache blocking: every tile walks all panels of B, so the panels one call reads must stay in
      // L2 (2 MiB per core here). Split the outer reduction level, then group panels, to fit.
      // Also split the reduction when a tile's rows of A (MR floats per step) would not stay in L1.
      const perStep = c.bBytesPerPanelStep ?? 0;
      const kSteps = l3.n * l2.n * l1.n;
      if (perStep === 0 || (perStep * l3.n * c.panels <= bBlock && kSteps * MR * 4 <= aTile)) {
        call(c, 0, 0, 0, c.panels, l3, c.accumulate);
        return;
      }
      const split = l3.n > 1 && (perStep * l3.n > bBlock / 4 || kSteps * MR * 4 > aTile);
      const steps = split ? l3.n : 1;
      const group = Math.max(1, Math.floor(bBlock / (perStep * (split ? 1 : l3.n))));
      for (let i = 0; i < steps; i++) {
        const level: Level = split ? { n: 1, aStep: 0, bStep: 0 } : l3;
        for (let p0 = 0; p0 < c.panels; p0 += group) {
          call(
            c,
            split ? i * l3.aStep : 0,
            split ? i * l3.bStep : 0,
            p0,
            Math.min(group, c.panels - p0),
            level,
            c.accumulate || i > 0,
          );
        }
      }
    },
  };
}
