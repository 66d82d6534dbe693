/** db:copy: an existing SQLite install moves to PostgreSQL with every row and id intact. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { copyDatabase, CopyRefusedError } from '../../src/db/copy.ts';
import { createDesigns, type NewDesign } from '../../src/db/designs.ts';
import { PROJECT_ROOT } from '../../src/db/paths.ts';
import { finishTrainingRun, startTrainingRun, upsertCheckpoint } from '../../src/db/training.ts';
import { addVote } from '../../src/db/votes.ts';
import { freshPgDatabase } from '../setup/pg-url.ts';
import { tempDbUrl } from './helpers.ts';

const design = (i: number, extra: Partial<NewDesign> = {}): NewDesign => ({
  seed: i,
  gridIndex: i % 4,
  latent: new Float32Array(100).map((_, k) => Math.cos(i + k)),
  checkpointVersion: 'v0001',
  guildId: 'g',
  channelId: 'c',
  requesterId: 'r',
  ...extra,
});

describe('db:copy', () => {
  it('refuses a SQLite source that does not exist (instead of creating and "copying" an empty one) and a copy onto itself', async () => {
    const missing = tempDbUrl();
    const target = tempDbUrl();
    await expect(copyDatabase(missing, target)).rejects.toThrow(/There is no SQLite database at .*check --from/);
    expect(fs.existsSync(missing.replace(/^file:/, ''))).toBe(false);
    const real = tempDbUrl();
    await (await openDatabase(real)).$disconnect();
    await expect(copyDatabase(real, real)).rejects.toBeInstanceOf(CopyRefusedError);
  });

  it('copies designs, votes, checkpoints and runs from SQLite to PostgreSQL, ids and bytes intact', async () => {
    const src = tempDbUrl();
    const a = await openDatabase(src);
    const made = await createDesigns(
      a,
      Array.from({ length: 23 }, (_, i) => design(i)),
    );
    await a.design.deleteMany({ where: { id: made[3].id } }); // a gap in the ids must survive
    const [child] = await createDesigns(a, [
      design(99, { kind: 'blend', parentId: made[0].id, secondParentId: made[1].id, steering: 0.5 }),
    ]);
    for (const [u, d] of [
      ['u1', 0],
      ['u2', 0],
      ['u1', 5],
      ['u3', 22],
    ] as const)
      await addVote(a, { userId: u, designId: made[d].id });
    await upsertCheckpoint(a, { version: 'v0001', step: 100, kid: 0.5, status: 'active' });
    const run = await startTrainingRun(a, { trigger: 'admin' });
    await finishTrainingRun(a, run.id, { steps: 10, lossD: 0.7, lossG: 1.1, checkpointVersion: 'v0001' });
    const snapshot = async (db: typeof a) => ({
      designs: await db.design.findMany({ orderBy: { id: 'asc' } }),
      votes: await db.vote.findMany({ orderBy: { id: 'asc' } }),
      checkpoints: await db.checkpoint.findMany({ orderBy: { id: 'asc' } }),
      runs: await db.trainingRun.findMany({ orderBy: { id: 'asc' } }),
    });
    const before = await snapshot(a);
    await a.$disconnect();

    const dst = await freshPgDatabase();
    const progress: string[] = [];
    const counts = await copyDatabase(src, dst, {
      batchSize: 7,
      onProgress: (t, done, total) => progress.push(`${t} ${done}/${total}`),
    });
    expect(counts).toEqual({ design: 23, vote: 4, checkpoint: 1, trainingRun: 1 });
    expect(progress).toContain('design 7/23');
    expect(progress).toContain('design 23/23');

    const b = await openDatabase(dst);
    try {
      const after = await snapshot(b);
      expect(after.designs.map((d) => ({ ...d, latent: Array.from(d.latent) }))).toEqual(
        before.designs.map((d) => ({ ...d, latent: Array.from(d.latent) })),
      );
      expect(after.votes).toEqual(before.votes);
      expect(after.checkpoints).toEqual(before.checkpoints);
      expect(after.runs).toEqual(before.runs);
      expect(after.designs.find((d) => d.id === child.id)).toMatchObject({
        kind: 'blend',
        secondParentId: made[1].id,
        steering: 0.5,
      });
      // New rows continue after the copied ids (the sequences were moved on).
      const [next] = await createDesigns(b, [design(200)]);
      expect(next.id).toBe(child.id + 1);
      expect(await addVote(b, { userId: 'u9', designId: next.id })).toBe('added');
    } finally {
      await b.$disconnect();
    }

    // A second copy into the now non-empty target is refused, changing nothing.
    await expect(copyDatabase(src, dst)).rejects.toBeInstanceOf(CopyRefusedError);
  });

  it('the CLI prints progress without the password, and copies PostgreSQL back to SQLite', async () => {
    const src = await freshPgDatabase();
    const a = await openDatabase(src);
    const ds = await createDesigns(a, [design(1), design(2)]);
    await addVote(a, { userId: 'u', designId: ds[1].id });
    await a.$disconnect();
    const dst = tempDbUrl();
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/bin/db-copy.ts', '--from', src, '--to', dst], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: { ...process.env, LOG_LEVEL: 'info' },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Copying postgresql:\/\/[^:@]+@[^/]+\/shoebot_test_\w+ -> /m);
    expect(r.stdout).toMatch(/Copied 2 design, 1 vote, 0 checkpoint, 0 trainingRun in/);
    expect(r.stdout).not.toContain(new URL(src).password);
    const b = await openDatabase(dst);
    try {
      expect((await b.vote.findMany()).map((v) => v.designId)).toEqual([ds[1].id]);
    } finally {
      await b.$disconnect();
    }
  });
});
