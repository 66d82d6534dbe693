/**
 * Child process for the crash test (client.test.ts): votes as fast as it can and prints
 * `committed <userId>` after each vote's transaction has returned. The parent kills it with SIGKILL.
 * Usage: node --import tsx test/db/vote-writer.ts <file: url> <designId>
 */
import { openDatabase } from '../../src/db/client.ts';
import { addVote } from '../../src/db/votes.ts';

const [url, designId] = process.argv.slice(2);
const db = await openDatabase(url, { migrate: false });
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  const userId = `user-${i}`;
  if ((await addVote(db, { userId, designId: Number(designId) })) === 'added') {
    // Writes to a pipe are synchronous on Linux: the line leaves before the next vote starts.
    process.stdout.write(`committed ${userId}\n`);
  }
}
