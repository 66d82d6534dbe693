/** Helpers shared by the kernel tests. */
import { expect } from 'vitest';

/** Relative L2 error of `a` against `b` (the reference). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

/** Runs `f` with shoebot's WASM kernels on, or off (SHOEBOT_GEMM=off: the stock and XNNPACK paths). */
export function withKernels<T>(on: boolean, f: () => T): T {
  const saved = process.env.SHOEBOT_GEMM;
  if (on) delete process.env.SHOEBOT_GEMM;
  else process.env.SHOEBOT_GEMM = 'off';
  try {
    return f();
  } finally {
    if (saved === undefined) delete process.env.SHOEBOT_GEMM;
    else process.env.SHOEBOT_GEMM = saved;
  }
}
