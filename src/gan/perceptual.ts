/**
 * Perceptual features for colour images: a pretrained ImageNet backbone from
 * the npm package `nsfwjs` (MIT), which ships its weights inside the package
 * (so nothing downloads at run time). Its InceptionV3 and MobileNetV2 were
 * trained on ImageNet and then fine-tuned by that project for its own five
 * classes, so FID/KID figures on these features are NOT comparable with
 * published Inception FIDs: they compare shoebot checkpoints with each other.
 *
 * The classifier head is cut off: the network ends at its last convolutional
 * block (InceptionV3 `mixed10`, 2048 channels; MobileNetV2 `out_relu`, 1280),
 * and we global-average-pool that, the layer FID traditionally uses. The input
 * size is a parameter (the nets are fully convolutional up to there): 64 px
 * images are upsampled bilinearly to it.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { tf } from '../tf/index.ts';

export type PerceptualNet = 'inception_v3' | 'mobilenet_v2';

interface NetSpec {
  /** The last convolutional block's output layer. */
  layer: string;
  /** Channels of that layer = feature dimension. */
  dim: number;
  shards: number;
  /** Smallest input the architecture accepts. */
  minInput: number;
}

const NETS: Record<PerceptualNet, NetSpec> = {
  inception_v3: { layer: 'mixed10', dim: 2048, shards: 6, minInput: 75 },
  mobilenet_v2: { layer: 'out_relu', dim: 1280, shards: 1, minInput: 32 },
};

export interface PerceptualExtractor {
  net: PerceptualNet;
  inputSize: number;
  featureDim: number;
  /** x: [n, h, w, 1|3] in [-1, 1] -> features [n, featureDim] (caller disposes; runs in the caller's tidy or not). */
  apply(x: tf.Tensor4D): tf.Tensor2D;
  /** Identifies net + input size (for caches and for the metric's name in checkpoints). */
  id: string;
}

const require = createRequire(import.meta.url);

interface LayerJson {
  class_name: string;
  config: { name: string; batch_input_shape?: (number | null)[] };
  inbound_nodes?: [string, number, number, unknown?][][];
}
interface ModelJson {
  modelTopology: {
    model_config: {
      class_name: string;
      config: { layers: LayerJson[]; input_layers: unknown[]; output_layers: unknown[] };
    };
    [k: string]: unknown;
  };
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

/**
 * Reads nsfwjs's bundled model (UMD modules: the topology as an object, each
 * weight shard as a base64 string) and returns the topology cut at the
 * feature layer with the given input size, plus the weights those layers use.
 */
function readTruncatedModel(
  net: PerceptualNet,
  inputSize: number,
): { topology: object; specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer } {
  const spec = NETS[net];
  const { base, json } = readBundledTopology(net);
  const keep = cutAtFeatureLayer(json, spec, inputSize, base);
  const { specs, data } = keptWeights(json, spec, base, keep);
  return {
    topology: json.modelTopology,
    specs,
    data: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer,
  };
}

/** The net's model.json (a copy, free to change) and the folder its files are in. */
function readBundledTopology(net: PerceptualNet): { base: string; json: ModelJson } {
  let base = `nsfwjs/dist/models/${net}`;
  try {
    // The package's "exports" hide dist/models: resolve its root, then load the files by path.
    base = path.join(path.dirname(require.resolve('nsfwjs')), '..', 'models', net);
    return { base, json: structuredClone(require(path.join(base, 'model.min.js')) as ModelJson) };
  } catch (err) {
    throw new Error(
      `perceptual metric: cannot load ${base} (${(err as Error).message.split('\n')[0]}); run npm install (nsfwjs ships the weights)`,
    );
  }
}

/**
 * Cuts `json`'s topology down to the feature layer and its ancestors, with `inputSize` px inputs
 * and the feature layer as the output; returns the names of the layers kept.
 */
function cutAtFeatureLayer(json: ModelJson, spec: NetSpec, inputSize: number, base: string): Set<string> {
  const layers = json.modelTopology.model_config.config.layers;
  const byName = new Map(layers.map((l) => [l.config.name, l]));
  // Keep the feature layer and its ancestors only.
  const keep = new Set<string>();
  const stack = [spec.layer];
  while (stack.length) {
    const name = stack.pop()!;
    if (keep.has(name)) continue;
    const layer = byName.get(name);
    if (!layer) throw new Error(`perceptual metric: layer ${name} missing from ${base}`);
    keep.add(name);
    for (const node of layer.inbound_nodes ?? []) for (const [src] of node) stack.push(src);
  }
  const kept = layers.filter((l) => keep.has(l.config.name));
  for (const l of kept) if (l.class_name === 'InputLayer') l.config.batch_input_shape = [null, inputSize, inputSize, 3];
  json.modelTopology.model_config.config.layers = kept;
  json.modelTopology.model_config.config.output_layers = [[spec.layer, 0, 0]];
  return keep;
}

/** The manifest entries and bytes of the weights of the layers in `keep`, read from the base64 shards. */
function keptWeights(
  json: ModelJson,
  spec: NetSpec,
  base: string,
  keep: Set<string>,
): { specs: tf.io.WeightsManifestEntry[]; data: Buffer } {
  // Weight names are "<layer>/<weight>": the shard bytes are concatenated in manifest order.
  const shards: Buffer[] = [];
  for (let i = 1; i <= spec.shards; i++) {
    const b64 = require(path.join(base, `group1-shard${i}of${spec.shards}.min.js`)) as string;
    shards.push(Buffer.from(b64, 'base64'));
  }
  const all = Buffer.concat(shards);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Buffer[] = [];
  let offset = 0;
  for (const w of json.weightsManifest.flatMap((g) => g.weights)) {
    const count = w.shape.reduce((a, b) => a * b, 1);
    const bytes = count * (w.quantization ? (w.quantization.dtype === 'uint8' ? 1 : 2) : 4);
    if (keep.has(w.name.split('/')[0])) {
      specs.push(w);
      parts.push(all.subarray(offset, offset + bytes));
    }
    offset += bytes;
  }
  if (offset !== all.length)
    throw new Error(`perceptual metric: ${base} weights are ${all.length} bytes, manifest says ${offset}`);
  return { specs, data: Buffer.concat(parts) };
}

const cache = new Map<string, Promise<PerceptualExtractor>>();

/**
 * Loads `net` cut at its feature layer for `inputSize` px inputs, once per
 * process (callers must not dispose it).
 */
export function loadPerceptualExtractor(net: PerceptualNet, inputSize: number): Promise<PerceptualExtractor> {
  const spec = NETS[net];
  if (!spec) throw new Error(`unknown perceptual net ${net} (use ${Object.keys(NETS).join(' or ')})`);
  if (!Number.isInteger(inputSize) || inputSize < spec.minInput || inputSize > 512) {
    throw new Error(`${net} needs an input size in ${spec.minInput}..512, got ${inputSize}`);
  }
  const id = `${net}@${inputSize}`;
  let p = cache.get(id);
  if (!p) {
    p = (async () => {
      const { topology, specs, data } = readTruncatedModel(net, inputSize);
      const model = await tf.loadLayersModel(
        tf.io.fromMemory({ modelTopology: topology, weightSpecs: specs, weightData: data }),
      );
      return {
        net,
        inputSize,
        featureDim: spec.dim,
        id,
        apply(x: tf.Tensor4D): tf.Tensor2D {
          return tf.tidy(() => {
            let rgb = x;
            if (x.shape[3] === 1) rgb = tf.tile(x, [1, 1, 1, 3]);
            else if (x.shape[3] !== 3) throw new Error(`images must have 1 or 3 channels, got ${x.shape[3]}`);
            // nsfwjs feeds pixels / 255, i.e. [0, 1].
            let u = tf.div(tf.add(rgb, 1), 2) as tf.Tensor4D;
            if (x.shape[1] !== inputSize || x.shape[2] !== inputSize)
              u = tf.image.resizeBilinear(u, [inputSize, inputSize], false, true);
            const fmap = model.predict(u) as tf.Tensor4D;
            return tf.mean(fmap, [1, 2]) as tf.Tensor2D;
          });
        },
      };
    })().catch((err) => {
      cache.delete(id);
      throw err;
    });
    cache.set(id, p);
  }
  return p;
}

/**
 * Features of `n` images (NHWC `h`x`w`x`c`), uint8 (0..255, normalised per
 * batch so the whole set never exists as float32) or float in [-1, 1].
 * Returns [n, featureDim] float64; no tensor outlives the call.
 */
export async function perceptualFeatures(
  ex: PerceptualExtractor,
  pixels: Uint8Array | Float32Array,
  shape: { n: number; h: number; w: number; c: number },
  opts: { batchSize?: number; onBatch?: (done: number) => void } = {},
): Promise<Float64Array> {
  const { n, h, w, c } = shape;
  const per = h * w * c;
  if (pixels.length < n * per) throw new Error(`pixel array has ${pixels.length} values, ${n} images need ${n * per}`);
  const out = new Float64Array(n * ex.featureDim);
  const bs = opts.batchSize ?? 32;
  for (let s = 0; s < n; s += bs) {
    const m = Math.min(bs, n - s);
    const f = tf.tidy(() => {
      const part = pixels.subarray(s * per, (s + m) * per);
      const x =
        part instanceof Uint8Array
          ? tf.sub(tf.div(tf.tensor4d(Float32Array.from(part), [m, h, w, c]), 127.5), 1)
          : tf.tensor4d(part, [m, h, w, c]);
      return ex.apply(x as tf.Tensor4D);
    });
    out.set(await f.data(), s * ex.featureDim);
    f.dispose();
    opts.onBatch?.(s + m);
  }
  return out;
}
