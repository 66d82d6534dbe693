import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/db/client.ts';
import {
  attachMessage,
  bytesToLatent,
  createDesigns,
  findDesignsByMessage,
  getDesign,
  latentToBytes,
  topDesigns,
  type NewDesign,
} from '../../src/db/designs.ts';
import { DesignNotFoundError, isForeignKeyViolation, isUniqueViolation } from '../../src/db/errors.ts';
import { PROJECT_ROOT, sqlitePathFromUrl } from '../../src/db/paths.ts';
import {
  activeCheckpoint,
  failInterruptedRuns,
  failTrainingRun,
  finishTrainingRun,
  listCheckpoints,
  recentTrainingRuns,
  setCheckpointStatus,
  startTrainingRun,
  upsertCheckpoint,
} from '../../src/db/training.ts';
import { addVote, countVotes, countVotesFor, removeVote } from '../../src/db/votes.ts';
import { freshPgDatabase } from '../setup/pg-url.ts';
import { tempDbUrl, tempDir } from './helpers.ts';

type ProviderName = 'sqlite' | 'postgresql';
/** A new, empty database of the provider (a SQLite file in a temp folder, or a fresh PG database). */
const freshUrl = (provider: ProviderName): Promise<string> =>
  provider === 'sqlite' ? Promise.resolve(tempDbUrl()) : freshPgDatabase();

function design(i: number, extra: Partial<NewDesign> = {}): NewDesign {
  const latent = new Float32Array(100).map((_, k) => Math.sin(i * 100 + k) * 2);
  return {
    seed: 1000 + i,
    gridIndex: i,
    latent,
    checkpointVersion: 'v0001',
    guildId: 'g1',
    channelId: 'c1',
    requesterId: 'r1',
    ...extra,
  };
}

describe('openDatabase', () => {
  const open: Db[] = [];
  afterAll(async () => {
    for (const db of open) await db.$disconnect();
  });

  it('creates the folder of a relative file: URL, migrates, and turns on WAL + synchronous=NORMAL', async () => {
    const cwd = tempDir();
    const prev = process.cwd();
    process.chdir(cwd);
    let db: Db;
    try {
      db = await openDatabase('file:./nested/dir/bot.db');
    } finally {
      process.chdir(prev);
    }
    open.push(db);
    const file = path.join(cwd, 'nested', 'dir', 'bot.db');
    expect(fs.existsSync(file)).toBe(true);
    const [{ journal_mode }] = await db.$queryRawUnsafe<{ journal_mode: string }[]>('PRAGMA journal_mode');
    expect(journal_mode).toBe('wal');
    const [{ synchronous }] = await db.$queryRawUnsafe<{ synchronous: bigint }[]>('PRAGMA synchronous');
    expect(Number(synchronous)).toBe(1); // NORMAL
    const [{ foreign_keys }] = await db.$queryRawUnsafe<{ foreign_keys: bigint }[]>('PRAGMA foreign_keys');
    expect(Number(foreign_keys)).toBe(1);
    await db.design.count();
    expect(fs.existsSync(`${file}-wal`)).toBe(true);
  });

  it('opens the same fresh file twice at once without a lock-up, migrating it once', async () => {
    const url = tempDbUrl();
    const [a, b] = await Promise.all([openDatabase(url), openDatabase(url)]);
    open.push(a, b);
    const names = await a.$queryRawUnsafe<{ migration_name: string }[]>(
      'SELECT migration_name FROM _prisma_migrations',
    );
    expect(new Set(names.map((n) => n.migration_name)).size).toBe(names.length);
    await a.design.count();
    await b.design.count();
  });

  it('rejects an unsupported URL scheme with a clear message and no secret in it', async () => {
    const err = await openDatabase('mysql://bot:hunter2secret@db:3306/shoebot').catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/"mysql:" is not supported/);
    expect((err as Error).message).toMatch(/postgresql:\/\/USER:PASSWORD@HOST:5432\/DATABASE/);
    expect((err as Error).message).not.toContain('hunter2secret');
  });
});

describe.each(['sqlite', 'postgresql'] as const)('repositories on a real %s database', (provider) => {
  let db: Db;
  let url: string;
  beforeAll(async () => {
    url = await freshUrl(provider);
    db = await openDatabase(url);
  });
  afterAll(async () => {
    await db?.$disconnect();
  });

  it('round-trips designs, including the latent vector bit for bit', async () => {
    const input = [0, 1, 2, 3].map((i) => design(i));
    const created = await createDesigns(db, input);
    expect(created.map((d) => d.gridIndex)).toEqual([0, 1, 2, 3]);
    expect(created[0].kind).toBe('shoe');
    expect(created[0].createdAt).toBeInstanceOf(Date);
    const fetched = await getDesign(db, created[2].id);
    expect(fetched?.seed).toBe(1002);
    expect(Array.from(bytesToLatent(fetched!.latent))).toEqual(Array.from(input[2].latent as Float32Array));
    expect(await getDesign(db, 999_999)).toBeNull();

    expect(
      await attachMessage(
        db,
        created.map((d) => d.id),
        'm-1',
      ),
    ).toBe(4);
    const shown = await findDesignsByMessage(db, 'm-1');
    expect(shown.map((d) => d.id)).toEqual(created.map((d) => d.id));
    expect(await findDesignsByMessage(db, 'm-unknown')).toEqual([]);

    const child = await createDesigns(db, [
      design(0, { kind: 'variation', parentId: created[0].id, latent: latentToBytes(new Float32Array([1.5, -2])) }),
    ]);
    expect(child[0].parentId).toBe(created[0].id);
    expect(Array.from(bytesToLatent(child[0].latent))).toEqual([1.5, -2]);
  });

  it('adds, deduplicates, removes and counts votes', async () => {
    const [a, b] = await createDesigns(db, [design(10), design(11)]);
    const before = Date.now();
    expect(await addVote(db, { userId: 'u1', designId: a.id })).toBe('added');
    const stored = await db.vote.findFirstOrThrow({ where: { userId: 'u1', designId: a.id } });
    // Time zones: the test server runs at UTC+14; the stored time must still be now.
    expect(Math.abs(stored.createdAt.getTime() - before)).toBeLessThan(60_000);
    expect(await addVote(db, { userId: 'u1', designId: a.id })).toBe('duplicate');
    expect(await addVote(db, { userId: 'u2', designId: a.id })).toBe('added');
    expect(await addVote(db, { userId: 'u1', designId: b.id })).toBe('added');
    expect(await countVotes(db, a.id)).toBe(2);
    expect(await countVotesFor(db, [a.id, b.id, 424242])).toEqual(
      new Map([
        [a.id, 2],
        [b.id, 1],
        [424242, 0],
      ]),
    );
    expect(await removeVote(db, { userId: 'u1', designId: a.id })).toBe('removed');
    expect(await removeVote(db, { userId: 'u1', designId: a.id })).toBe('absent');
    expect(await countVotes(db, a.id)).toBe(1);
    // Voting again after removing the reaction counts again.
    expect(await addVote(db, { userId: 'u1', designId: a.id })).toBe('added');
    await expect(addVote(db, { userId: 'u1', designId: 987_654 })).rejects.toBeInstanceOf(DesignNotFoundError);
  });

  it('recognises unique and foreign-key violations from this provider, on the right columns', async () => {
    await upsertCheckpoint(db, { version: 'dup-check', step: 1 });
    const dup = await db.checkpoint.create({ data: { version: 'dup-check', step: 2 } }).catch((e: unknown) => e);
    expect(isUniqueViolation(dup)).toBe(true);
    expect(isUniqueViolation(dup, ['version'])).toBe(true);
    expect(isUniqueViolation(dup, ['userId', 'designId'])).toBe(false);
    expect(isForeignKeyViolation(dup)).toBe(false);
    const orphan = await db.vote.create({ data: { userId: 'x', designId: 765_432 } }).catch((e: unknown) => e);
    expect(isForeignKeyViolation(orphan)).toBe(true);
    expect(isUniqueViolation(orphan)).toBe(false);
    const [d] = await createDesigns(db, [design(70)]);
    await db.vote.create({ data: { userId: 'x', designId: d.id } });
    const twice = await db.vote.create({ data: { userId: 'x', designId: d.id } }).catch((e: unknown) => e);
    expect(isUniqueViolation(twice, ['userId', 'designId'])).toBe(true);
    expect(isUniqueViolation(twice, ['version'])).toBe(false);
    await db.checkpoint.delete({ where: { version: 'dup-check' } }); // later tests list every checkpoint
  });

  it("ranks a guild's designs by votes", async () => {
    const [x, y, z] = await createDesigns(db, [
      design(20, { guildId: 'g-top' }),
      design(21, { guildId: 'g-top' }),
      design(22, { guildId: 'g-top' }),
    ]);
    await createDesigns(db, [design(23, { guildId: 'g-other' })]);
    for (const u of ['a', 'b', 'c']) await addVote(db, { userId: u, designId: y.id });
    await addVote(db, { userId: 'a', designId: x.id });
    const top = await topDesigns(db, 'g-top', 5);
    expect(top.map((d) => [d.id, d.votes])).toEqual([
      [y.id, 3],
      [x.id, 1],
    ]);
    expect(top.some((d) => d.id === z.id)).toBe(false); // no votes, not listed
    expect(await topDesigns(db, 'g-top', 1)).toHaveLength(1);
  });

  it('deleting a design deletes its votes (cascade)', async () => {
    const [d] = await createDesigns(db, [design(30)]);
    await addVote(db, { userId: 'u', designId: d.id });
    await db.design.delete({ where: { id: d.id } });
    expect(await db.vote.count({ where: { designId: d.id } })).toBe(0);
  });

  it('round-trips training runs and checkpoints', async () => {
    const run = await startTrainingRun(db, { trigger: 'admin', startStep: 500 });
    expect(run).toMatchObject({ status: 'running', trigger: 'admin', startStep: 500, steps: 0, endedAt: null });
    const done = await finishTrainingRun(db, run.id, {
      steps: 200,
      lossD: 0.61,
      lossG: 1.25,
      freezeCount: 17,
      imagesPerSecond: 9.5,
      checkpointVersion: 'v0002',
    });
    expect(done).toMatchObject({
      status: 'succeeded',
      steps: 200,
      lossD: 0.61,
      freezeCount: 17,
      checkpointVersion: 'v0002',
    });
    expect(done.endedAt!.getTime()).toBeGreaterThanOrEqual(done.startedAt.getTime());

    const bad = await startTrainingRun(db);
    const failed = await failTrainingRun(db, bad.id, 'out of memory', { steps: 3 });
    expect(failed).toMatchObject({ status: 'failed', error: 'out of memory', steps: 3 });
    const stuck = await startTrainingRun(db);
    expect(await failInterruptedRuns(db)).toBe(1);
    expect((await recentTrainingRuns(db, 1))[0]).toMatchObject({ id: stuck.id, status: 'failed' });

    await upsertCheckpoint(db, { version: 'v0001', step: 500 });
    const c2 = await upsertCheckpoint(db, { version: 'v0002', step: 700, kid: 0.12 });
    const c2b = await upsertCheckpoint(db, {
      version: 'v0002',
      step: 700,
      kid: 0.1,
      fid: 55.5,
      sneakerShare: 0.8,
      note: 'metrics',
    });
    expect(c2b).toMatchObject({ id: c2.id, kid: 0.1, fid: 55.5, sneakerShare: 0.8, status: 'candidate' });
    await setCheckpointStatus(db, 'v0001', 'active');
    await setCheckpointStatus(db, 'v0002', 'active');
    expect((await activeCheckpoint(db))?.version).toBe('v0002');
    expect((await listCheckpoints(db, { status: 'retired' })).map((c) => c.version)).toEqual(['v0001']);
    expect((await listCheckpoints(db)).map((c) => c.version)).toEqual(['v0002', 'v0001']);
    await setCheckpointStatus(db, 'v0001', 'rejected');
    expect((await listCheckpoints(db, { status: 'active' })).length).toBe(1);
  });

  it('keeps exactly one vote under concurrent duplicates, from one client and from two', async () => {
    const [d] = await createDesigns(db, [design(40)]);
    const results = await Promise.all(
      Array.from({ length: 50 }, () => addVote(db, { userId: 'racer', designId: d.id })),
    );
    expect(results.filter((r) => r === 'added')).toHaveLength(1);
    expect(results.filter((r) => r === 'duplicate')).toHaveLength(49);

    // A second client has its own connection(s), as another process would have.
    const other = await openDatabase(url, { migrate: false });
    try {
      const mixed = await Promise.all(
        Array.from({ length: 40 }, (_, i) => addVote(i % 2 ? db : other, { userId: 'racer2', designId: d.id })),
      );
      expect(mixed.filter((r) => r === 'added')).toHaveLength(1);
    } finally {
      await other.$disconnect();
    }
    expect(await db.vote.count({ where: { designId: d.id, userId: 'racer' } })).toBe(1);
    expect(await db.vote.count({ where: { designId: d.id, userId: 'racer2' } })).toBe(1);
  });

  it('loses no committed vote when the writing process is killed with SIGKILL', async () => {
    const [d] = await createDesigns(db, [design(50)]);
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/db/vote-writer.ts', url, String(d.id)], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    const printed: string[] = [];
    const lines = createInterface({ input: child.stdout });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`writer too slow; stderr: ${stderr}`)), 30_000);
      lines.on('line', (line) => {
        const m = /^committed (\S+)$/.exec(line);
        if (!m) return;
        printed.push(m[1]);
        if (printed.length === 300) {
          clearTimeout(timer);
          child.kill('SIGKILL'); // mid-stream: the writer is busy with the next vote
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`writer exited early; stderr: ${stderr}`)));
    });
    expect(await exited).toBe('SIGKILL');
    lines.close();

    // Lines still in the pipe after the kill were committed too.
    const reopened = await openDatabase(url);
    try {
      const stored = new Set(
        (await reopened.vote.findMany({ where: { designId: d.id }, select: { userId: true } })).map((v) => v.userId),
      );
      const missing = printed.filter((u) => !stored.has(u));
      expect(missing).toEqual([]);
      expect(stored.size).toBeGreaterThanOrEqual(printed.length);
      if (provider === 'sqlite') {
        const [{ integrity_check }] =
          await reopened.$queryRawUnsafe<{ integrity_check: string }[]>('PRAGMA integrity_check');
        expect(integrity_check).toBe('ok');
        expect(sqlitePathFromUrl(url)).toMatch(/test\.db$/);
      }
    } finally {
      await reopened.$disconnect();
    }
  });

  it('keeps exactly one row per vote when two separate processes cast the same votes at once', async () => {
    const [d1, d2] = await createDesigns(db, [design(60), design(61)]);
    const designIds = `${d1.id},${d2.id}`;
    const runVoter = (order: string) =>
      new Promise<{ added: number; duplicate: number }>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', 'test/db/dup-voter.ts', url, designIds, '150', order],
          {
            cwd: PROJECT_ROOT,
            env: { ...process.env, LOG_LEVEL: 'silent' },
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        let out = '';
        let err = '';
        child.stdout.on('data', (b: Buffer) => (out += b.toString()));
        child.stderr.on('data', (b: Buffer) => (err += b.toString()));
        child.on('exit', (code) => {
          const m = /^added (\d+) duplicate (\d+)$/m.exec(out);
          if (code !== 0 || !m) reject(new Error(`voter exited ${code}: ${err || out}`));
          else resolve({ added: Number(m[1]), duplicate: Number(m[2]) });
        });
      });
    // One walks the votes forwards, the other backwards: they collide on every one of them.
    const [a, b] = await Promise.all([runVoter('forward'), runVoter('backward')]);
    expect(a.added + b.added).toBe(300);
    expect(a.duplicate + b.duplicate).toBe(300);
    expect(await db.vote.count({ where: { designId: { in: [d1.id, d2.id] } } })).toBe(300);
    const perKey = await db.vote.groupBy({
      by: ['userId', 'designId'],
      where: { designId: { in: [d1.id, d2.id] } },
      _count: { _all: true },
    });
    expect(perKey.every((g) => g._count._all === 1)).toBe(true);
  });
});
