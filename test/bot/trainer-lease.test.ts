/**
 * Two bots in the default TRAINER_MODE=auto sharing a database and models directory (what two
 * processes of one shoebot look like): the first takes the trainer lease, the second follows — its
 * /train status shows the holder's snapshot and its /train run is carried out by the holder, whose
 * checkpoint it then hot-swaps to. When the holder shuts down it releases the lease and the second
 * bot becomes the trainer at once. On SQLite and on PostgreSQL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ID, expectNoUnhandled, sleep, startHarness, tempDir, type Harness } from './harness.ts';
import { makeDataset, TINY_FLAGS } from '../trainer/helpers.ts';
import { freshPgDatabase } from '../setup/pg-url.ts';

let h1: Harness | undefined;
let h2: Harness | undefined;
const dataDir = tempDir('shoebot-lease-bots-');
const datasetDir = path.join(dataDir, 'dataset');
const host = os.hostname();

const trainerOpts = () => ({
  schedule: false,
  forwardStderr: false,
  args: ['--dataset', datasetDir, ...TINY_FLAGS],
  requestPollMs: 300,
});

beforeAll(async () => {
  await makeDataset(datasetDir);
}, 60_000);
afterAll(() => {
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function until(what: string, f: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!(await f())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await sleep(100);
  }
}

describe.each(['sqlite', 'postgresql'] as const)('TRAINER_MODE=auto with two bot processes (%s)', (provider) => {
  beforeAll(async () => {
    // The state both bots share lives outside either harness's folder: h1.close() removes its own
    // folder, and a database deleted under h2 would (rightly) stop h2's writes.
    const shared = {
      DATABASE_URL: provider === 'sqlite' ? `file:${path.join(dataDir, 'shared.db')}` : await freshPgDatabase(),
      MODELS_DIR: path.join(dataDir, `models-${provider}`),
    };
    h1 = await startHarness({
      env: { TRAINER_HEARTBEAT_SECONDS: '1', ...shared },
      generator: null,
      bot: { generator: null, trainer: trainerOpts(), watchManifest: { debounceMs: 50, pollMs: 300 } },
    });
    h2 = await startHarness({
      env: { TRAINER_HEARTBEAT_SECONDS: '1', ...shared },
      bot: { generator: undefined, trainer: trainerOpts(), watchManifest: { debounceMs: 50, pollMs: 300 } },
    });
  }, 120_000);
  afterAll(async () => {
    await h2?.close();
    await h1?.close().catch(() => undefined);
  });

  it('the first bot holds the lease; the second follows and goes through it', async () => {
    expect(h1!.bot.leaseService?.holding).toBe(true);
    expect(h2!.bot.leaseService?.holding).toBe(false);
    const st = await h2!.fake.waitForReply(
      h2!.fake.sendCommand({ name: 'train', subcommand: 'status', user: ADMIN_ID }),
    );
    expect(st.message.content).toMatch(
      new RegExp(`Trainer: on \`${host}\` \\(TRAINER_MODE=auto\\) · snapshot \\d+ s old`),
    );
    // The holder's own status has no remote line.
    const own = await h1!.fake.waitForReply(
      h1!.fake.sendCommand({ name: 'train', subcommand: 'status', user: ADMIN_ID }),
    );
    expect(own.message.content).not.toContain('Trainer: on');
    expect(own.message.content).toContain('State: **idle**');

    const r = await h2!.fake.waitForReply(
      h2!.fake.sendCommand({ name: 'train', subcommand: 'run', options: { steps: 4 }, user: ADMIN_ID }),
      { timeoutMs: 30_000 },
    );
    expect(r.message.content).toContain(
      `Training started (4 steps, continuing from \`scratch\`) on the trainer at \`${host}\``,
    );
    await until('holder swapped', () => !!h1!.bot.ctx.generation.active);
    const v = h1!.bot.ctx.generation.active!.version;
    await until('follower swapped', () => h2!.bot.ctx.generation.active?.version === v);
    expect(h2!.bot.scheduler!.lastRun).toBeUndefined(); // it did not train
    expect(await h1!.bot.ctx.store.db.trainingRun.count()).toBe(1);
  }, 120_000);

  it('the holder shuts down (releases the lease): the other bot becomes the trainer at once', async () => {
    await h1!.close();
    h1 = undefined;
    const t0 = Date.now();
    await until('second bot holds the lease', () => h2!.bot.leaseService!.holding, 15_000);
    console.log(`lease taken over ${Date.now() - t0} ms after the holder released it (heartbeat 1 s)`);
    const v = h2!.bot.ctx.generation.active!.version;
    const r = await h2!.fake.waitForReply(
      h2!.fake.sendCommand({ name: 'train', subcommand: 'run', options: { steps: 2 }, user: ADMIN_ID }),
    );
    expect(r.message.content).toBe(
      `Training started (2 steps, continuing from \`${v}\`). Follow it with \`/train status\`.`,
    );
    await h2!.bot.scheduler!.waitIdle();
    expect(h2!.bot.scheduler!.lastRun?.status).toBe('succeeded');
    expect(h2!.bot.ctx.generation.active!.version).toBe(h2!.bot.scheduler!.lastRun?.checkpointVersion);
    expectNoUnhandled();
  }, 120_000);
});
