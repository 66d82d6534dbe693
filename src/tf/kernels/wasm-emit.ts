/**
 * Just enough of a WebAssembly binary writer to emit shoebot's matrix kernel (gemm-emit.ts)
 * at start-up: no compiler at install time, the bytes are built here from JavaScript.
 * Covers i32 scalar code, loops and the SIMD instructions the kernel uses.
 */

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (i32 constants). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

/** Appends instructions; each method returns `this` so code reads top to bottom. */
export class Code {
  readonly bytes: number[] = [];
  private op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  get(local: number): this {
    return this.op(0x20, ...uleb(local));
  }
  set(local: number): this {
    return this.op(0x21, ...uleb(local));
  }
  tee(local: number): this {
    return this.op(0x22, ...uleb(local));
  }
  i32(value: number): this {
    return this.op(0x41, ...sleb(value));
  }
  add(): this {
    return this.op(0x6a);
  }
  sub(): this {
    return this.op(0x6b);
  }
  mul(): this {
    return this.op(0x6c);
  }
  /** i32.load (4-byte aligned) at [top of stack + offset]. */
  loadI32(offset = 0): this {
    return this.op(0x28, 2, ...uleb(offset));
  }
  /** `loop` ... `end`, repeated while the condition the body leaves for br_if is non-zero. */
  loop(body: (c: this) => void): this {
    this.op(0x03, 0x40);
    body(this);
    return this.op(0x0b);
  }
  /** br_if to the innermost enclosing label (the loop's start when used last in a loop body). */
  brIf(depth = 0): this {
    return this.op(0x0d, ...uleb(depth));
  }
  ifElse(then: (c: this) => void, otherwise: (c: this) => void): this {
    this.op(0x04, 0x40);
    then(this);
    this.op(0x05);
    otherwise(this);
    return this.op(0x0b);
  }
  v128Load(offset = 0): this {
    return this.op(0xfd, 0x00, 4, ...uleb(offset));
  }
  v128Store(offset = 0): this {
    return this.op(0xfd, 0x0b, 4, ...uleb(offset));
  }
  /** One f32 at the address, in all four lanes. */
  load32Splat(offset = 0): this {
    return this.op(0xfd, 0x09, 2, ...uleb(offset));
  }
  v128Zero(): this {
    return this.op(0xfd, 0x0c, ...new Array<number>(16).fill(0));
  }
  f32x4Add(): this {
    return this.op(0xfd, 0xe4, 0x01);
  }
  f32x4Mul(): this {
    return this.op(0xfd, 0xe6, 0x01);
  }
  f32x4Max(): this {
    return this.op(0xfd, 0xe9, 0x01);
  }
  /** Lane-wise x > y as all-ones / all-zeros masks. */
  f32x4Gt(): this {
    return this.op(0xfd, 0x44);
  }
  /** The f32 on the stack in all four lanes. */
  f32x4Splat(): this {
    return this.op(0xfd, 0x13);
  }
  /** v128.bitselect(a, b, mask): bits of a where mask is 1, of b elsewhere. */
  bitselect(): this {
    return this.op(0xfd, 0x52);
  }
  /** Relaxed SIMD's f32x4.relaxed_madd: a * b + c, fused where the CPU has FMA. */
  f32x4RelaxedMadd(): this {
    return this.op(0xfd, 0x85, 0x02);
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(text: string): number[] {
  const b = [...Buffer.from(text, 'utf8')];
  return [...uleb(b.length), ...b];
}

export interface EmittedFunction {
  exportName: string;
  params: number[];
  /** Extra locals after the parameters, as [count, type] groups. */
  locals: Array<[number, number]>;
  code: Code;
}

/**
 * A module importing its memory as env.memory (so it works in place on another module's heap)
 * and exporting the given functions, none of which returns a value.
 */
export function emitModule(fns: EmittedFunction[]): Uint8Array {
  const types = fns.flatMap((f) => [0x60, ...uleb(f.params.length), ...f.params, 0]);
  const imports = [...uleb(1), ...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(1)];
  const funcs = [...uleb(fns.length), ...fns.flatMap((_, i) => uleb(i))];
  const exports = [...uleb(fns.length), ...fns.flatMap((f, i) => [...name(f.exportName), 0x00, ...uleb(i)])];
  const bodies = fns.map((f) => {
    const body = [...uleb(f.locals.length), ...f.locals.flatMap(([n, t]) => [...uleb(n), t]), ...f.code.bytes, 0x0b];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [...uleb(fns.length), ...types]),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, [...uleb(fns.length), ...bodies.flat()]),
  ]);
}
