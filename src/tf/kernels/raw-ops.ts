/**
 * The tf-level pieces the XNNPACK convolution gradients (conv-grads.ts, input-grad-phases.ts) are
 * built from: cropping and padding an NHWC tensor's spatial axes, and Conv2D / BatchMatMul run
 * straight through the active backend's kernels with a backend-resident filter (the cached,
 * prepared filters of phase-filters.ts, which are not Tensors).
 */
import { tf } from '../tfjs.ts';
import type { RawFilter } from './phase-filters.ts';

/**
 * Padding (non-negative) or cropping (negative) of axis 1 and 2 of an NHWC tensor, split in two:
 * `x` cropped where a side is negative, and the explicit padding of the other sides (zero for the
 * cropped ones) for tf.pad or a convolution's own padding.
 */
export function cropAndPads(
  x: tf.Tensor4D,
  top: number,
  bottom: number,
  left: number,
  right: number,
): { cropped: tf.Tensor4D; pads: tf.backend_util.ExplicitPadding } {
  const [n, h, w, c] = x.shape;
  const cropT = Math.max(0, -top);
  const cropB = Math.max(0, -bottom);
  const cropL = Math.max(0, -left);
  const cropR = Math.max(0, -right);
  const cropped =
    cropT || cropB || cropL || cropR
      ? tf.slice(x, [0, cropT, cropL, 0], [n, h - cropT - cropB, w - cropL - cropR, c])
      : x;
  const pads: tf.backend_util.ExplicitPadding = [
    [0, 0],
    [Math.max(0, top), Math.max(0, bottom)],
    [Math.max(0, left), Math.max(0, right)],
    [0, 0],
  ];
  return { cropped, pads };
}

/** Pads (non-negative) or crops (negative) axis 1 and 2 of an NHWC tensor. */
export function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  const { cropped, pads } = cropAndPads(x, top, bottom, left, right);
  return top > 0 || bottom > 0 || left > 0 || right > 0 ? tf.pad(cropped, pads) : cropped;
}

/** a [1, m, k] x b [1, k, n] with a backend-resident b, through the active backend's BatchMatMul kernel. */
export function matMulRaw(a: tf.Tensor3D, b: { dataId: object; shape: number[]; dtype: 'float32' }): tf.Tensor3D {
  const engine = tf.engine();
  const kernel = tf.getKernel('BatchMatMul', engine.backendName);
  if (!kernel) throw new Error(`no BatchMatMul kernel on backend ${engine.backendName}`);
  const attrs = { transposeA: false, transposeB: false };
  const out = kernel.kernelFunc({
    inputs: { a, b } as unknown as tf.NamedTensorInfoMap,
    backend: engine.backend,
    attrs: attrs as unknown as tf.NamedAttrMap,
  });
  return engine.makeTensorFromTensorInfo(out as tf.TensorInfo) as tf.Tensor3D;
}

/** Stride-1 NHWC conv2d of `x` with a backend-resident filter, run through the active backend's Conv2D kernel. */
export function conv2dRaw(x: tf.Tensor4D, filter: RawFilter, pad: tf.backend_util.ExplicitPadding): tf.Tensor4D {
  const engine = tf.engine();
  const kernel = tf.getKernel('Conv2D', engine.backendName);
  if (!kernel) throw new Error(`no Conv2D kernel on backend ${engine.backendName}`);
  const attrs = { strides: 1, pad, dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined };
  const out = kernel.kernelFunc({
    inputs: { x, filter } as unknown as tf.NamedTensorInfoMap,
    backend: engine.backend,
    attrs: attrs as unknown as tf.NamedAttrMap,
  });
  return engine.makeTensorFromTensorInfo(out as tf.TensorInfo) as tf.Tensor4D;
}
