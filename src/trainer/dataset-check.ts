/**
 * Whether the dataset a run would train on exists, asked before every run: a missing dataset is a
 * set-up step to explain at once, not a failed run to record every night.
 */
import type { Config } from '../config/env.ts';
import { DEFAULT_DATASET, resolveDatasetDir } from '../data/dataset.ts';
import { DATASET_HINT, folderDatasetHint } from '../data/dataset-hints.ts';
import { activeDataset, runDatasetName } from '../gan/manifest.ts';

/**
 * Undefined when the dataset the trainer child will use (its `--dataset` flag in `args`, else the
 * active model's, else DEFAULT_DATASET, under DATA_DIR) exists; else a sentence saying which one is
 * missing and how to create it. `env` overrides the config's DATA_DIR like the child's environment.
 */
export function trainingDatasetProblem(
  config: Config,
  args: string[],
  env?: Record<string, string>,
): string | undefined {
  const i = args.lastIndexOf('--dataset');
  const flag = args.find((a) => a.startsWith('--dataset='))?.slice('--dataset='.length);
  const model = activeDataset(config.MODELS_DIR);
  const name = runDatasetName((i >= 0 ? args[i + 1] : undefined) ?? flag, config.MODELS_DIR);
  const dataDir = env?.DATA_DIR ?? config.DATA_DIR;
  try {
    resolveDatasetDir(name, dataDir);
    return undefined;
  } catch {
    return `the training dataset "${name}" was not found under ${dataDir}/datasets: ${name === DEFAULT_DATASET || name !== model?.name ? DATASET_HINT : folderDatasetHint(model)}`;
  }
}
