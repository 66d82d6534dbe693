/**
 * Vote throughput on a throw-away SQLite file: sequential addVote (new votes, then duplicates),
 * then removeVote. Prints figures; asserts nothing.
 * Usage: node --import tsx src/db/bench-votes.ts [count=5000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from './client.ts';
import { createDesigns } from './designs.ts';
import { addVote, removeVote } from './votes.ts';

const count = Number(process.argv[2] ?? 5000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoebot-bench-'));
try {
  const db = await openDatabase(`file:${path.join(dir, 'bench.db')}`);
  const [design] = await createDesigns(db, [
    { seed: 1, gridIndex: 0, latent: new Float32Array(100), checkpointVersion: 'bench', channelId: 'c', requesterId: 'r' },
  ]);
  const time = async (label: string, op: (i: number) => Promise<unknown>) => {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) await op(i);
    const s = (performance.now() - t0) / 1000;
    process.stdout.write(`${label.padEnd(22)} ${count} in ${s.toFixed(2)} s = ${Math.round(count / s)} ops/s\n`);
  };
  await time('addVote (new)', (i) => addVote(db, { userId: `u${i}`, designId: design.id }));
  await time('addVote (duplicate)', (i) => addVote(db, { userId: `u${i}`, designId: design.id }));
  await time('removeVote', (i) => removeVote(db, { userId: `u${i}`, designId: design.id }));
  await db.$disconnect();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
