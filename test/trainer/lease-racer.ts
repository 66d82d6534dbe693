/**
 * A process contending for the trainer lease (test/trainer/lease.test.ts). Prints READY, waits for
 * the go-file to appear (all racers start together), then tries every 20 ms for DURATION ms;
 * when it wins it prints "WON <how> <ownerId>" and heartbeats every HEARTBEAT ms until the end
 * (or until killed). Exits without releasing unless RELEASE=1.
 */
import fs from 'node:fs';
import { openDatabase } from '../../src/db/client.ts';
import { createLogger } from '../../src/log.ts';
import { LeaseKeeper } from '../../src/trainer/lease.ts';

const { DB_URL, GO_FILE, DURATION = '2000', HEARTBEAT = '200', RELEASE } = process.env;
const db = await openDatabase(DB_URL!, { migrate: false });
const log = createLogger({ level: 'silent' });
const lease = new LeaseKeeper({ db, log, heartbeatMs: Number(HEARTBEAT) });
process.stdout.write(`READY ${lease.ownerId}\n`);
while (!fs.existsSync(GO_FILE!)) await new Promise((r) => setTimeout(r, 5));
const end = Date.now() + Number(DURATION);
let lastBeat = 0;
while (Date.now() < end) {
  if (!lease.holding) {
    const r = await lease.tryAcquire(JSON.stringify({ v: 1, state: 'idle' }));
    if (r.holding) {
      process.stdout.write(`WON ${r.how} ${lease.ownerId}\n`);
      lastBeat = Date.now();
    }
  } else if (Date.now() - lastBeat >= Number(HEARTBEAT)) {
    if (!(await lease.heartbeat())) process.stdout.write(`LOST ${lease.ownerId}\n`);
    lastBeat = Date.now();
  }
  await new Promise((r) => setTimeout(r, 20));
}
if (RELEASE === '1') await lease.release();
process.stdout.write(`END ${lease.holding ? 'holding' : 'following'}\n`);
await db.$disconnect();
