/**
 * What to tell an operator whose training dataset is missing: one wording for the scheduler's
 * refusal, /train status and `npm run doctor`.
 */

/** The default dataset (Fashion-MNIST sneakers): the Debian package, then the import. */
export const DATASET_HINT =
  'create it on the bot host with `sudo apt-get install dataset-fashion-mnist` then `npm run data:import -- --source fashion-mnist` (see README)';

/** How to re-create the dataset a model was trained on (the shipped 64x64 RGB model: a folder of shoe photos). */
export const folderDatasetHint = (d: { name: string; imageSize: number; channels: number }): string =>
  `import the images the active model was trained on under that name, on the bot host: ` +
  `\`npm run data:import -- --source folder --dir <images> --size ${d.imageSize} --channels ${d.channels} --out ${d.name}\` (see README, "Colour photos")`;
