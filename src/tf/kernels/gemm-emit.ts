/**
 * The bytes of shoebot's single-precision matrix kernel, emitted as WebAssembly SIMD at start-up
 * (gemm-wasm.ts instantiates them on the tfjs WASM backend's memory and drives the calls).
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
import { emitColumnSums, emitLeakyRelu, emitLeakyReluGrad } from './simd-passes.ts';
import { Code, I32, V128, emitModule } from './wasm-emit.ts';

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

/** Tile `tile`'s MR row addresses of A and of C, read from the two address tables. */
function emitLoadRowAddresses(k: Code, L: GemmLocals): void {
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
}

/** The accumulators out to C's MR rows at this panel's offset. */
function emitStoreAccumulators(k: Code, L: GemmLocals): void {
  for (let r = 0; r < MR; r++) {
    for (let h = 0; h < 2; h++)
      k.get(L.c[r])
        .get(L.cOff)
        .add()
        .get(L.acc[r * 2 + h])
        .v128Store(h * 16);
  }
}

/** One tile's loop over the panels: start, reduce and store each panel's MR x 8 block of C. */
function emitPanelLoop(k: Code, L: GemmLocals, flavour: GemmFlavour): void {
  k.i32(0).set(L.panel).get(P.cOff0).set(L.cOff);
  k.loop(() => {
    emitStartAccumulators(k, L);
    emitReduction(k, L, flavour);
    emitStoreAccumulators(k, L);
    k.get(L.cOff)
      .i32(NR * 4)
      .add()
      .set(L.cOff);
    k.get(L.panel).i32(1).add().tee(L.panel).get(P.panels).sub().brIf();
  });
}

/**
 * The module's bytes for `flavour`: `gemm` (tiles x panels, each reduced by emitReduction) and the
 * SIMD passes of simd-passes.ts, all importing the memory `env.memory`.
 */
export function emitGemm(flavour: GemmFlavour): Uint8Array {
  const L = gemmLocals();
  const k = new Code();
  k.i32(0).set(L.tile);
  k.loop(() => {
    emitLoadRowAddresses(k, L);
    emitPanelLoop(k, L, flavour);
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
