/**
 * `npm run classifier:train` — trains the quality metric's fixed feature
 * extractor once: a small CNN on all ten Fashion-MNIST classes (28x28 padded
 * to 32x32, [-1, 1]), written to models/classifier/ with its test accuracy in
 * info.json. Runs on the WASM backend (shoebot's Conv2DBackpropFilter kernel
 * from src/tf/kernels makes conv training possible there) or CPU.
 *   --epochs N (3)  --batch N (128)  --fmnist-dir DIR  --out DIR  --backend wasm|cpu
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { tf, initTf } from '../tf/index.ts';
import {
  loadFashionMnist,
  FMNIST_DEFAULT_DIR,
  FMNIST_CLASSES,
  FMNIST_LICENSE,
  SNEAKER_CLASS,
} from '../data/fashion-mnist.ts';
import { createProgress } from '../data/progress.ts';
import { Rng } from '../gan/latent.ts';
import { buildClassifier, CLASSIFIER_DIR } from '../gan/classifier.ts';
import { saveLayersModel, loadLayersModelFromDir } from '../gan/layers-files.ts';

const HELP = `Usage: npm run classifier:train -- [--epochs 3] [--batch 128] [--fmnist-dir DIR] [--out DIR] [--backend wasm|cpu]
Trains the Fashion-MNIST classifier used by the quality metric (KID/FID features, sneaker share)
and writes it to models/classifier/ (model.json, weights.bin, info.json).
`;

const { values: args } = parseArgs({
  options: {
    epochs: { type: 'string', default: '3' },
    batch: { type: 'string', default: '128' },
    'fmnist-dir': { type: 'string', default: FMNIST_DEFAULT_DIR },
    out: { type: 'string', default: CLASSIFIER_DIR },
    backend: { type: 'string', default: 'wasm' },
    seed: { type: 'string', default: '1' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const epochs = Number(args.epochs);
const batch = Number(args.batch);
const seed = Number(args.seed);

const info = await initTf(args.backend as 'wasm' | 'cpu');
console.log(`backend: ${info.label} (${info.reason})`);
const train = await loadFashionMnist(args['fmnist-dir']!, 'train');
const test = await loadFashionMnist(args['fmnist-dir']!, 't10k');
const PER = 32 * 32;

/** uint8 images at `idx` -> [n, 32, 32, 1] in [-1, 1] and one-hot labels. */
function batchTensors(src: typeof train, idx: ArrayLike<number>): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const n = idx.length;
  const xs = new Float32Array(n * PER);
  const ys = new Float32Array(n * 10);
  for (let i = 0; i < n; i++) {
    const j = idx[i];
    for (let p = 0; p < PER; p++) xs[i * PER + p] = src.images[j * PER + p] / 127.5 - 1;
    ys[i * 10 + src.labels[j]] = 1;
  }
  return { x: tf.tensor4d(xs, [n, 32, 32, 1]), y: tf.tensor2d(ys, [n, 10]) };
}

function predictAll(model: tf.LayersModel, src: typeof train): Uint8Array {
  const pred = new Uint8Array(src.count);
  for (let s = 0; s < src.count; s += 500) {
    const idx = Array.from({ length: Math.min(500, src.count - s) }, (_, i) => s + i);
    const { x, y } = batchTensors(src, idx);
    const arg = tf.tidy(() => (model.predict(x) as tf.Tensor).argMax(-1));
    pred.set(arg.dataSync() as Int32Array, s);
    tf.dispose([x, y, arg]);
  }
  return pred;
}

const model = buildClassifier(seed);
model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
const rng = new Rng(seed);
const started = Date.now();
for (let epoch = 1; epoch <= epochs; epoch++) {
  const order = rng.permutation(train.count);
  const steps = Math.floor(train.count / batch);
  const progress = createProgress({ label: `epoch ${epoch}/${epochs}`, total: steps, unit: 'batches' });
  let lossSum = 0;
  let accSum = 0;
  for (let s = 0; s < steps; s++) {
    const { x, y } = batchTensors(train, order.subarray(s * batch, (s + 1) * batch));
    const [loss, acc] = (await model.trainOnBatch(x, y)) as number[];
    lossSum += loss;
    accSum += acc;
    tf.dispose([x, y]);
    progress.tick();
  }
  progress.done(
    `loss ${(lossSum / steps).toFixed(4)}, train accuracy ${(accSum / steps).toFixed(4)}, ${((Date.now() - started) / 1000).toFixed(0)}s elapsed`,
  );
}
const trainSeconds = (Date.now() - started) / 1000;

const pred = predictAll(model, test);
const perClass = FMNIST_CLASSES.map((name, c) => {
  let n = 0;
  let ok = 0;
  for (let i = 0; i < test.count; i++)
    if (test.labels[i] === c) {
      n++;
      if (pred[i] === c) ok++;
    }
  return { class: c, name, accuracy: +(ok / n).toFixed(4) };
});
const accuracy = pred.reduce((a, p, i) => a + (p === test.labels[i] ? 1 : 0), 0) / test.count;
let predictedSneaker = 0;
let trueSneakerPredicted = 0;
for (let i = 0; i < test.count; i++)
  if (pred[i] === SNEAKER_CLASS) {
    predictedSneaker++;
    if (test.labels[i] === SNEAKER_CLASS) trueSneakerPredicted++;
  }

await saveLayersModel(model, args.out!, {
  description: 'Fashion-MNIST 10-class CNN; quality-metric feature extractor (penultimate layer "features", 128-d)',
  input: '[n, 32, 32, 1] float32 in [-1, 1]; 28x28 Fashion-MNIST padded to 32 with black (-1)',
  data: FMNIST_LICENSE,
  backend: info.name,
  epochs,
  batch,
  seed,
  trainSeconds: Math.round(trainSeconds),
  testAccuracy: +accuracy.toFixed(4),
  sneakerPrecision: +(trueSneakerPredicted / predictedSneaker).toFixed(4),
  perClassAccuracy: perClass,
});
const weightsBytes = fs.statSync(path.join(args.out!, 'weights.bin')).size;
const sha = crypto
  .createHash('sha256')
  .update(fs.readFileSync(path.join(args.out!, 'weights.bin')))
  .digest('hex')
  .slice(0, 16);

// Reload from disk and check it predicts the same: proves the files are complete.
const reloaded = await loadLayersModelFromDir(args.out!);
const pred2 = predictAll(reloaded, test);
const agree = pred2.every((p, i) => p === pred[i]);
console.log(
  `test accuracy ${(accuracy * 100).toFixed(2)}% (sneaker recall ${(perClass[SNEAKER_CLASS].accuracy * 100).toFixed(1)}%), ` +
    `trained in ${trainSeconds.toFixed(0)}s; weights ${(weightsBytes / 1024).toFixed(0)} KB sha256 ${sha}...; reload ${agree ? 'matches' : 'DIFFERS'}`,
);
console.log(perClass.map((c) => `${c.name}: ${(c.accuracy * 100).toFixed(1)}%`).join(', '));
if (!agree) process.exit(1);
