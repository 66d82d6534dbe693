/**
 * The tfjs WASM backend as shoebot's WASM kernels see it: the parts of its BackendWasm they use,
 * allocations on its heap, views and addresses of tensor data there, and the matrix kernel
 * (gemm-wasm.ts) instantiated once per heap, and whether it is wanted (SHOEBOT_GEMM).
 */
import { tf } from '../tfjs.ts';
import { createGemmKernel, type GemmKernel, type WasmMemory } from './gemm-wasm.ts';

/** The parts of tfjs-backend-wasm's BackendWasm used here. */
export interface WasmBackendLike {
  wasm: { _malloc(bytes: number): number; _free(ptr: number): void; asm: { memory: WasmMemory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

/**
 * Whether WASM convolutions (and the passes beside them) run on shoebot's matrix kernel
 * (conv-gemm.ts): true unless SHOEBOT_GEMM=off, which keeps the previous paths (XNNPACK through
 * tf ops) for comparisons. Read per call, so tests can switch it.
 */
export const gemmWanted = (): boolean => process.env.SHOEBOT_GEMM !== 'off';

const kernels = new WeakMap<WasmMemory, GemmKernel>();

/** The matrix kernel on this backend's heap (one instance per heap, i.e. per thread). */
export function gemmFor(backend: WasmBackendLike): GemmKernel {
  const memory = backend.wasm.asm.memory;
  let k = kernels.get(memory);
  if (!k) {
    k = createGemmKernel(memory, { prefer: process.env.SHOEBOT_GEMM === 'simd' ? 'simd' : undefined });
    kernels.set(memory, k);
  }
  return k;
}

/** Allocates heap bytes and returns their byte address (see malloc). */
export type Alloc = (bytes: number) => number;

/** `bytes` of the backend's heap (views of the heap must be re-made after: it may have grown). */
export function malloc(b: WasmBackendLike, bytes: number): number {
  const p = b.wasm._malloc(Math.max(16, bytes)) >>> 0;
  if (p === 0) throw new Error(`out of WASM memory allocating ${bytes} bytes`);
  return p;
}

/** Scratch allocations of one kernel call, freed together. */
export class Scratch {
  private ptrs: number[] = [];
  constructor(private readonly backend: WasmBackendLike) {}
  /** `bytes` of heap, freed by free() (see malloc). */
  alloc(bytes: number): number {
    const p = malloc(this.backend, bytes);
    this.ptrs.push(p);
    return p;
  }
  free(): void {
    for (const p of this.ptrs) this.backend.wasm._free(p);
    this.ptrs = [];
  }
}

/** The whole heap as float32 (re-make after any allocation: the heap may have grown). */
export const heapF32 = (b: WasmBackendLike): Float32Array => new Float32Array(b.wasm.asm.memory.buffer);
/** The whole heap as int32 (re-make after any allocation, as heapF32). */
export const heapI32 = (b: WasmBackendLike): Int32Array => new Int32Array(b.wasm.asm.memory.buffer);

/** Byte address of a tensor's data on the backend's heap. */
export function offsetOf(b: WasmBackendLike, t: tf.TensorInfo): number {
  const d = b.dataIdMap.get(t.dataId);
  if (!d) throw new Error('tensor data is not on this backend');
  return d.memoryOffset;
}
