/**
 * The fixed Fashion-MNIST classifier behind the quality metric, shipped in
 * models/classifier/ (TF.js layers format: model.json + weights.bin, written
 * and read with our own handlers because there is no file:// IO without
 * tfjs-node). Input [n, 32, 32, 1] in [-1, 1] (black background, as FMNIST);
 * outputs the 128-d penultimate "features" layer and the 10 class
 * probabilities.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '../tf/index.ts';

export const CLASSIFIER_INPUT = 32;
export const FEATURE_LAYER = 'features';
/** models/classifier relative to the repository root (not MODELS_DIR: it is code, not a checkpoint). */
export const CLASSIFIER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../models/classifier');

/**
 * Builds the (untrained) classifier: three 3x3 conv + ReLU + 2x2 max-pool
 * blocks (16, 32, 64 channels), dense 128 ReLU ("features"), dense 10 softmax.
 * ~155k parameters (~620 KB float32).
 */
export function buildClassifier(seed = 1): tf.LayersModel {
  const init = (i: number) => tf.initializers.heNormal({ seed: seed * 100 + i });
  const m = tf.sequential({ name: 'fmnist_classifier' });
  m.add(tf.layers.conv2d({ inputShape: [32, 32, 1], filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1) }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2) }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(3) }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 128, activation: 'relu', name: FEATURE_LAYER, kernelInitializer: init(4) }));
  m.add(tf.layers.dense({ units: 10, activation: 'softmax', name: 'probs', kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 100 + 5 }) }));
  return m;
}

/** Writes a layers model as model.json + weights.bin into `dir` (plus optional info.json). */
export async function saveLayersModel(model: tf.LayersModel, dir: string, info?: Record<string, unknown>): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData as ArrayBuffer;
      const modelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      await fs.writeFile(path.join(dir, 'weights.bin'), Buffer.from(weightData));
      await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(modelJson));
      if (info) await fs.writeFile(path.join(dir, 'info.json'), JSON.stringify(info, null, 2) + '\n');
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weightData.byteLength } };
    }),
  );
}

/** Loads a layers model written by saveLayersModel (or any single-shard TF.js layers model). */
export async function loadLayersModelFromDir(dir: string): Promise<tf.LayersModel> {
  let json: { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  try {
    json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${path.join(dir, 'model.json')}: ${(err as Error).message}`);
  }
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const buffers = await Promise.all(json.weightsManifest.flatMap((g) => g.paths).map((p) => fs.readFile(path.join(dir, p))));
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
}

export interface FeatureExtractor {
  /** [n, 32, 32, 1] in [-1, 1] -> features [n, 128] and probabilities [n, 10] (caller disposes). */
  apply(x: tf.Tensor4D): { features: tf.Tensor2D; probs: tf.Tensor2D };
  featureDim: number;
  dispose(): void;
}

let cached: Promise<FeatureExtractor> | undefined;

/** Loads the shipped classifier once per process and exposes its features and probabilities. */
export function loadFeatureExtractor(dir = CLASSIFIER_DIR): Promise<FeatureExtractor> {
  if (dir !== CLASSIFIER_DIR) return makeExtractor(dir);
  cached ??= makeExtractor(dir).catch((err) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

async function makeExtractor(dir: string): Promise<FeatureExtractor> {
  const model = await loadLayersModelFromDir(dir).catch((err: Error) => {
    throw new Error(`quality-metric classifier missing or unreadable in ${dir} (${err.message}); run: npm run classifier:train`);
  });
  const both = tf.model({ inputs: model.inputs, outputs: [model.getLayer(FEATURE_LAYER).output as tf.SymbolicTensor, model.outputs[0]] });
  const featureDim = (model.getLayer(FEATURE_LAYER).outputShape as number[])[1];
  return {
    featureDim,
    apply(x) {
      const [features, probs] = both.predict(x) as tf.Tensor2D[];
      return { features, probs };
    },
    dispose() {
      model.dispose();
    },
  };
}
