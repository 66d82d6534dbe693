/**
 * Child process for the cross-process duplicate test (client.test.ts): casts votes for users
 * u0..u<n-1> on each given design, in the given order, all at once, then prints how many were
 * added and how many were duplicates.
 * Usage: node --import tsx test/db/dup-voter.ts <url> <designId,designId> <n> forward|backward
 */
import { openDatabase } from '../../src/db/client.ts';
import { addVote } from '../../src/db/votes.ts';

const [url, ids, n, order] = process.argv.slice(2);
const db = await openDatabase(url, { migrate: false });
const keys = ids
  .split(',')
  .flatMap((id) => Array.from({ length: Number(n) }, (_, i) => ({ userId: `u${i}`, designId: Number(id) })));
if (order === 'backward') keys.reverse();
const results = await Promise.all(keys.map((k) => addVote(db, k)));
await db.$disconnect();
const added = results.filter((r) => r === 'added').length;
process.stdout.write(`added ${added} duplicate ${results.length - added}\n`);
