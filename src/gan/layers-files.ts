/**
 * TF.js layers-format files (model.json + weights.bin, loadable by
 * tf.loadLayersModel elsewhere too) without tfjs-node: there is no file:// IO
 * handler here, so models are serialised with tf.io.withSaveHandler and read
 * back with tf.io.fromMemory. Checkpoints (src/gan/checkpoint.ts) and the
 * quality metric's classifier (models/classifier, src/gan/classifier.ts) are
 * written this way.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { tf } from '../tf/index.ts';

/** One layers model as bytes: model.json text and the single weights.bin it names. */
export interface LayersFiles {
  modelJson: string;
  weights: Uint8Array;
}

/** Serialises a layers model to TF.js layers-format bytes (model.json + one weights.bin). */
export async function serializeModel(model: tf.LayersModel): Promise<LayersFiles> {
  let out: LayersFiles | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData;
      const buf =
        data === undefined ? new ArrayBuffer(0) : Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
      const modelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      out = { modelJson: JSON.stringify(modelJson), weights: new Uint8Array(buf) };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return out!;
}

/** Writes a layers model as model.json + weights.bin into `dir` (plus optional info.json). */
export async function saveLayersModel(
  model: tf.LayersModel,
  dir: string,
  info?: Record<string, unknown>,
): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const files = await serializeModel(model);
  await fs.writeFile(path.join(dir, 'weights.bin'), files.weights);
  await fs.writeFile(path.join(dir, 'model.json'), files.modelJson);
  if (info) await fs.writeFile(path.join(dir, 'info.json'), JSON.stringify(info, null, 2) + '\n');
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
  const buffers = await Promise.all(
    json.weightsManifest.flatMap((g) => g.paths).map((p) => fs.readFile(path.join(dir, p))),
  );
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
}
