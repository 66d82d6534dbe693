/**
 * Vote throughput: sequential addVote (new votes, then duplicates), then removeVote, on a throw-away
 * SQLite file, on a PostgreSQL database given by URL (a scratch design is created there and deleted
 * afterwards, with its votes), or with --pg-cluster on a throw-away local PostgreSQL cluster with
 * durable default settings (Debian's postgresql binaries). Prints figures; asserts nothing.
 * Usage: npm run bench:db -- [count=5000] [postgresql://USER:PASSWORD@HOST:5432/DATABASE | --pg-cluster]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../src/db/client.ts';
import { createDesigns } from '../src/db/designs.ts';
import { parseDatabaseUrl } from '../src/db/paths.ts';
import { startPgCluster, type PgCluster } from '../src/db/pg-cluster.ts';
import { addVote, removeVote } from '../src/db/votes.ts';

const args = process.argv.slice(2);
const count = Number(args.find((a) => /^\d+$/.test(a)) ?? 5000);
let cluster: PgCluster | undefined;
if (args.includes('--pg-cluster')) cluster = await startPgCluster({ unsafeFast: false }); // fsync on: honest figures
const given = cluster?.url ?? args.find((a) => a.includes('://'));
const dir = given ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'shoebot-bench-'));
const url = given ?? `file:${path.join(dir!, 'bench.db')}`;
try {
  const db = await openDatabase(url);
  process.stdout.write(`database: ${parseDatabaseUrl(url).display}\n`);
  const [design] = await createDesigns(db, [
    {
      seed: 1,
      gridIndex: 0,
      latent: new Float32Array(100),
      checkpointVersion: 'bench',
      channelId: 'bench',
      requesterId: 'r',
    },
  ]);
  try {
    const time = async (label: string, op: (i: number) => Promise<unknown>) => {
      const t0 = performance.now();
      for (let i = 0; i < count; i++) await op(i);
      const s = (performance.now() - t0) / 1000;
      process.stdout.write(`${label.padEnd(22)} ${count} in ${s.toFixed(2)} s = ${Math.round(count / s)} ops/s\n`);
    };
    await time('addVote (new)', (i) => addVote(db, { userId: `u${i}`, designId: design.id }));
    await time('addVote (duplicate)', (i) => addVote(db, { userId: `u${i}`, designId: design.id }));
    await time('removeVote', (i) => removeVote(db, { userId: `u${i}`, designId: design.id }));
  } finally {
    await db.design.delete({ where: { id: design.id } }); // cascades to any votes left
    await db.$disconnect();
  }
} finally {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  cluster?.stop();
}
