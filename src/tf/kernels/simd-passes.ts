/**
 * The three small SIMD passes emitted into the matrix kernel's module beside `gemm`
 * (gemm-emit.ts), sharing its memory: per-channel column sums (batch norm's statistics, see
 * channel-reduce.ts) and leaky ReLU forward and backward (leaky-relu.ts). Each returns one
 * function for emitModule; gemm-wasm.ts wraps the instantiated exports.
 */
import { Code, F32, I32, V128, type EmittedFunction } from './wasm-emit.ts';

/** lrelu(src, dst, groups, alpha): max(x, alpha * x) per lane, i.e. x < 0 ? alpha * x : x for 0 <= alpha <= 1. */
export function emitLeakyRelu(): EmittedFunction {
  const [src, dst, groups, alpha] = [0, 1, 2, 3];
  const [i, a, v] = [4, 5, 6];
  const k = new Code();
  k.get(alpha).f32x4Splat().set(a);
  k.i32(0).set(i);
  k.loop(() => {
    k.get(src).get(i).add().v128Load().set(v);
    k.get(dst).get(i).add().get(v).get(v).get(a).f32x4Mul().f32x4Max().v128Store();
    k.get(i).i32(16).add().tee(i).get(groups).i32(16).mul().sub().brIf();
  });
  return {
    exportName: 'lrelu',
    params: [I32, I32, I32, F32],
    locals: [
      [1, I32],
      [2, V128],
    ] as Array<[number, number]>,
    code: k,
  };
}

/** lreluGrad(dy, x, dst, groups, alpha): x > 0 ? dy : dy * alpha per lane (tfjs's LeakyRelu gradient). */
export function emitLeakyReluGrad(): EmittedFunction {
  const [dy, x, dst, groups, alpha] = [0, 1, 2, 3, 4];
  const [i, a, g] = [5, 6, 7];
  const k = new Code();
  k.get(alpha).f32x4Splat().set(a);
  k.i32(0).set(i);
  k.loop(() => {
    k.get(dy).get(i).add().v128Load().set(g);
    k.get(dst).get(i).add();
    k.get(g).get(g).get(a).f32x4Mul();
    k.get(x).get(i).add().v128Load().v128Zero().f32x4Gt();
    k.bitselect().v128Store();
    k.get(i).i32(16).add().tee(i).get(groups).i32(16).mul().sub().brIf();
  });
  return {
    exportName: 'lreluGrad',
    params: [I32, I32, I32, I32, F32],
    locals: [
      [1, I32],
      [2, V128],
    ] as Array<[number, number]>,
    code: k,
  };
}

/**
 * colsum(src, rows, groups, rowBytes, dst): dst[g] = sum over rows p of the f32x4 at
 * src + p*rowBytes + 16*g, accumulated in row order in float32 (the stock kernel's order).
 */
export function emitColumnSums(): EmittedFunction {
  const [src, rows, groups, rowBytes, dst] = [0, 1, 2, 3, 4];
  const [g, p, addr] = [5, 6, 7];
  const acc = 8;
  const k = new Code();
  k.i32(0).set(g);
  k.loop(() => {
    k.v128Zero().set(acc);
    k.get(src).get(g).i32(16).mul().add().set(addr);
    k.get(rows).set(p);
    k.loop(() => {
      k.get(acc).get(addr).v128Load().f32x4Add().set(acc);
      k.get(addr).get(rowBytes).add().set(addr);
      k.get(p).i32(1).sub().tee(p).brIf();
    });
    k.get(dst).get(g).i32(16).mul().add().get(acc).v128Store();
    k.get(g).i32(1).add().tee(g).get(groups).sub().brIf();
  });
  return {
    exportName: 'colsum',
    params: [I32, I32, I32, I32, I32],
    locals: [
      [3, I32],
      [1, V128],
    ] as Array<[number, number]>,
    code: k,
  };
}
