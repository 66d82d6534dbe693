/**
 * `/train run` on a bot whose MODELS_DIR cannot be written: refused at once, naming the cause,
 * instead of a run that trains to the end and then fails to save (the real bot, the fake Discord).
 * MODELS_DIR's parent is a regular file, which stops root too (chmod would not).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeDataset, TINY_FLAGS } from '../trainer/helpers.ts';
import { ADMIN_ID, expectNoUnhandled, startHarness, tempDir } from './harness.ts';

afterEach(() => expectNoUnhandled());

describe('/train run with an unwritable MODELS_DIR', () => {
  it('is not started, and the admin reads why', async () => {
    const root = tempDir('shoebot-ro-models-');
    const datasetDir = path.join(root, 'dataset');
    await makeDataset(datasetDir);
    fs.writeFileSync(path.join(root, 'a-file'), 'x');
    const modelsDir = path.join(root, 'a-file', 'models');
    const h = await startHarness({
      env: { MODELS_DIR: modelsDir },
      bot: { trainer: { schedule: false, forwardStderr: false, args: ['--dataset', datasetDir, ...TINY_FLAGS] } },
    });
    try {
      const r = await h.fake.waitForReply(
        h.fake.sendCommand({ name: 'train', subcommand: 'run', options: { steps: 2 }, user: ADMIN_ID }),
      );
      expect(r.ephemeral).toBe(true);
      expect(r.message.content).toContain(
        `Not started: MODELS_DIR ${modelsDir} is not writable (ENOTDIR: a part of that path is a file, not a folder)`,
      );
      expect(await h.bot.ctx.store.db.trainingRun.count()).toBe(0);
      expect(h.bot.scheduler!.state).toBe('idle');
    } finally {
      await h.close();
    }
  }, 60_000);
});
