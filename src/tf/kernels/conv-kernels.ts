/**
 * The convolution kernels shoebot registers (register.ts): Conv2D, FusedConv2D,
 * Conv2DBackpropInput and Conv2DBackpropFilter, each choosing per call between the matrix kernel
 * on WASM (conv-gemm*.ts), the XNNPACK paths through tf ops (conv-grads.ts) and the stock kernel
 * it replaced. Each export takes that stock kernel (null where the backend has none) and returns
 * the kernel function.
 */
import { tf } from '../tfjs.ts';
import { conv2dFilterGrad, conv2dInputGrad } from './conv-grads.ts';
import * as gemmConv from './conv-gemm.ts';
import * as gemmInputGrad from './conv-gemm-input-grad.ts';
import { gemmWanted, type WasmBackendLike } from './wasm-backend.ts';

function dilationOne(d: unknown): boolean {
  return d === undefined || d === 1 || (Array.isArray(d) && d.every((v) => v === 1));
}

/** A 1x1 input or output spread over a whole filter window: a plain matrix product serves it better. */
function wholeWindow(spatial: [number, number], filterShape: number[]): boolean {
  return spatial[0] === 1 && spatial[1] === 1 && filterShape[0] > 1;
}

/**
 * Runs `fn` on the inputs as Tensors. Ops pass real Tensors; bare TensorInfos
 * (direct runKernel callers) are wrapped for the call and released after.
 */
function withTensors<T>(infos: Array<tf.TensorInfo | undefined>, fn: (...ts: tf.Tensor4D[]) => T): T {
  const owned: tf.Tensor[] = [];
  const ts = infos.map((info) => {
    if (!info) throw new Error('missing kernel input');
    if ('rank' in info) return info as tf.Tensor4D;
    const t = tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor4D;
    owned.push(t);
    return t;
  });
  try {
    return fn(...ts);
  } finally {
    tf.dispose(owned);
  }
}

function isNhwc(dataFormat: unknown): boolean {
  return dataFormat === undefined || dataFormat === 'NHWC' || dataFormat === 'channelsLast';
}

export function filterGradKernel(orig: tf.KernelConfig | null): tf.KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as unknown as tf.Conv2DBackpropFilterInputs;
    const a = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    if (!isNhwc(a.dataFormat) && orig) return orig.kernelFunc(args);
    if (!isNhwc(a.dataFormat))
      throw new Error(`Conv2DBackpropFilter: only NHWC is supported on this backend (got ${a.dataFormat})`);
    if (
      args.backend instanceof Object &&
      'wasm' in args.backend &&
      gemmWanted() &&
      !wholeWindow([dy!.shape[1], dy!.shape[2]], a.filterShape)
    ) {
      return gemmConv.conv2dFilterGrad(
        args.backend as unknown as WasmBackendLike,
        x!,
        dy!,
        a.filterShape,
        a.strides,
        a.pad,
        a.dimRoundingMode,
      );
    }
    return withTensors([x, dy], (xt, dyt) =>
      conv2dFilterGrad(xt, dyt, a.filterShape, a.strides, a.pad, a.dimRoundingMode),
    );
  };
}

export function inputGradKernel(orig: tf.KernelConfig | null): tf.KernelFunc {
  return (args) => {
    const { dy, filter } = args.inputs as unknown as tf.Conv2DBackpropInputInputs;
    const a = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    if (isNhwc(a.dataFormat) && gemmWanted() && !wholeWindow([dy!.shape[1], dy!.shape[2]], filter!.shape)) {
      return gemmInputGrad.conv2dInputGrad(
        args.backend as unknown as WasmBackendLike,
        dy!,
        filter!,
        a.inputShape,
        a.strides,
        a.pad,
        a.dimRoundingMode,
      );
    }
    if (isNhwc(a.dataFormat)) {
      return withTensors([dy, filter], (dyt, ft) =>
        conv2dInputGrad(dyt, ft, a.inputShape, a.strides, a.pad, a.dimRoundingMode),
      );
    }
    if (!orig) throw new Error(`Conv2DBackpropInput: only NHWC is supported on this backend (got ${a.dataFormat})`);
    return orig.kernelFunc(args);
  };
}

/** The attributes a forward convolution's choice of path and the matrix kernel read. */
type ForwardAttrs = Pick<tf.Conv2DAttrs, 'strides' | 'pad' | 'dataFormat' | 'dilations' | 'dimRoundingMode'>;

/** Whether a forward convolution of x by filter takes the matrix kernel (wanted, NHWC, dilation 1, not a whole window). */
function forwardOnGemm(x: tf.TensorInfo, filter: tf.TensorInfo, a: ForwardAttrs): boolean {
  return (
    gemmWanted() &&
    isNhwc(a.dataFormat) &&
    dilationOne(a.dilations) &&
    !wholeWindow([x.shape[1], x.shape[2]], filter.shape)
  );
}

/** x [N,H,W,Ci] convolved by filter [fh,fw,Ci,Co] on the matrix kernel -> [N,Ho,Wo,Co]. */
function gemmForward(
  args: Parameters<tf.KernelFunc>[0],
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  a: ForwardAttrs,
): tf.TensorInfo {
  return gemmConv.conv2dForward(
    args.backend as unknown as WasmBackendLike,
    x,
    filter,
    a.strides,
    a.pad,
    a.dimRoundingMode,
  );
}

/** Conv2D on WASM through the matrix kernel (NHWC, dilation 1); the stock kernel otherwise. */
export function conv2dKernel(orig: tf.KernelConfig | null): tf.KernelFunc {
  return (args) => {
    const { x, filter } = args.inputs as unknown as tf.Conv2DInputs;
    const a = args.attrs as unknown as tf.Conv2DAttrs;
    if (orig && !forwardOnGemm(x!, filter!, a)) return orig.kernelFunc(args);
    return gemmForward(args, x!, filter!, a);
  };
}

/**
 * FusedConv2D without bias or activation (what tf.layers' conv2d without bias runs) through the
 * matrix kernel; anything fused goes to the stock kernel.
 */
export function fusedConv2dKernel(orig: tf.KernelConfig | null): tf.KernelFunc {
  return (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as unknown as tf.FusedConv2DInputs;
    const a = args.attrs as unknown as tf.FusedConv2DAttrs;
    const plain = !bias && !preluActivationWeights && (a.activation === undefined || a.activation === 'linear');
    if (orig && (!plain || !forwardOnGemm(x!, filter!, a))) return orig.kernelFunc(args);
    return gemmForward(args, x!, filter!, a);
  };
}
