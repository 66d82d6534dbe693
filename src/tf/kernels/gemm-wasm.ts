/**
 * shoebot's own single-precision matrix kernel, run in place on the tfjs WASM backend's heap (its
 * module imports that memory): the bytes emitted by gemm-emit.ts, instantiated here with the FMA
 * (relaxed SIMD) flavour where this V8 runs it, and each call split for the caches. Every
 * convolution of a training step (forward, input gradient, filter gradient) is one call of it:
 * XNNPACK's kernels in tfjs-backend-wasm reach ~22 GFLOP/s on one core here, and can use neither
 * FMA (relaxed SIMD) nor a convolution's input in place for a filter gradient.
 */
import v8 from 'node:v8';
import { MR, NR, emitGemm, type GemmFlavour } from './gemm-emit.ts';

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

/** The module's exports, as JavaScript functions of numbers. */
interface GemmExports {
  gemm: (...args: number[]) => void;
  colsum: (...args: number[]) => void;
  lrelu: (...args: number[]) => void;
  lreluGrad: (...args: number[]) => void;
}

/** The module for `prefer` (FMA falls back to mul + add where relaxed SIMD does not validate), instantiated. */
function instantiate(memory: WasmMemory, prefer: GemmFlavour): { flavour: GemmFlavour; exports: GemmExports } {
  let flavour = prefer;
  let bytes = emitGemm('fma');
  if (flavour === 'fma' && !relaxedSimdAvailable(bytes)) flavour = 'simd';
  if (flavour === 'simd') bytes = emitGemm('simd');
  const instance = new WA.Instance(new WA.Module(bytes), { env: { memory } });
  return { flavour, exports: instance.exports as unknown as GemmExports };
}

/** One call of `gemm` over panels p0 .. p0 + panels of `c`, offset into A and B, with `l3` as the outer level. */
type GemmPass = (
  c: GemmCall,
  aOff: number,
  bOff: number,
  p0: number,
  panels: number,
  l3: Level,
  accumulate: boolean,
) => void;

/** `gemm`'s 18 parameters (gemm-emit.ts's P, in order) from one pass of a call. */
function gemmPass(gemm: GemmExports['gemm']): GemmPass {
  return (c, aOff, bOff, p0, panels, l3, accumulate) => {
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
}

/**
 * Runs call `c` as passes of `pass`, cache-blocked: every tile walks all panels of B, so the panels
 * one pass reads must stay in L2 (2 MiB per core here). Split the outer reduction level, then group
 * panels, to fit. Also split the reduction when a tile's rows of A (MR floats per step) would not
 * stay in L1.
 */
function runBlocked(pass: GemmPass, c: GemmCall, bBlock: number, aTile: number): void {
  const [l3, l2, l1] = c.levels;
  if (c.tiles <= 0 || c.panels <= 0 || l3.n <= 0 || l2.n <= 0 || l1.n <= 0) throw new Error('gemm: empty call');
  const perStep = c.bBytesPerPanelStep ?? 0;
  const kSteps = l3.n * l2.n * l1.n;
  if (perStep === 0 || (perStep * l3.n * c.panels <= bBlock && kSteps * MR * 4 <= aTile)) {
    pass(c, 0, 0, 0, c.panels, l3, c.accumulate);
    return;
  }
  const split = l3.n > 1 && (perStep * l3.n > bBlock / 4 || kSteps * MR * 4 > aTile);
  const steps = split ? l3.n : 1;
  const group = Math.max(1, Math.floor(bBlock / (perStep * (split ? 1 : l3.n))));
  for (let i = 0; i < steps; i++) {
    const level: Level = split ? { n: 1, aStep: 0, bStep: 0 } : l3;
    for (let p0 = 0; p0 < c.panels; p0 += group) {
      pass(
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
}

/**
 * The kernel instantiated on `memory` (the tfjs WASM backend's), with `opts`' flavour and
 * cache-blocking sizes; its methods take byte addresses in that memory.
 */
export function createGemmKernel(memory: WasmMemory, opts: GemmOptions = {}): GemmKernel {
  const bBlock = opts.bBlockBytes ?? B_BLOCK_BYTES;
  const aTile = opts.aTileBytes ?? A_TILE_BYTES;
  const { flavour, exports } = instantiate(memory, opts.prefer ?? 'fma');
  const { colsum, lrelu, lreluGrad } = exports;
  const pass = gemmPass(exports.gemm);
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
      runBlocked(pass, c, bBlock, aTile);
    },
  };
}
