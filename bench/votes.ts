/**
 * `npm run bench:votes [-- --events N --messages M]`: reaction votes end to end, in this process,
 * against the fake Discord on a throw-away SQLite file: a burst of N reaction adds from different
 * members sent back to back through the gateway, then N removals (events/s = N / time from the
 * first event sent to the last one stored; the first burst is the cold one: new members, first
 * queries), then a reconcile of M design messages read back over REST (paced at 20 requests/s, so
 * it is mostly that pacing; the fake answers in microseconds). Prints figures, asserts nothing; they depend on the machine's load.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBot } from '../src/bot/bot.ts';
import { voteEmojiFor } from '../src/bot/votes.ts';
import { createLogger } from '../src/log.ts';
import { initTf } from '../src/tf/index.ts';
import { FakeDiscord } from '../test/fake-discord/server.ts';
import { benchBotConfig } from './bot-support.ts';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const EVENTS = opt('--events', 500);
const MESSAGES = opt('--messages', 1000);
const member = (i: number) => String(300000000000000000n + BigInt(i));

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'shoebot-bench-votes-'));
const fake = await FakeDiscord.start();
await initTf('wasm');
let stored = 0;
const bot = await startBot({
  config: benchBotConfig(fake, work, 'warn'),
  log: createLogger({ level: 'warn' }),
  generator: null,
  trainer: false,
  renderer: 'inline',
  onVote: () => void stored++,
});
try {
  await bot.ready;
  await bot.votes.reconciler.idle();
  const store = bot.ctx.store;

  /** Bot messages with 4 designs each, the bot's own vote reactions seeded, as /shoe leaves them. */
  const designMessages = async (n: number) => {
    const out: { id: string; designIds: number[] }[] = [];
    for (let i = 0; i < n; i++) {
      const msg = fake.postBotMessage({ content: 'designs' });
      const designs = await store.createDesigns(
        [0, 1, 2, 3].map((g) => ({
          seed: i,
          gridIndex: g,
          latent: new Float32Array(16),
          checkpointVersion: 'bench',
          guildId: fake.guild.id,
          channelId: fake.channelId,
          requesterId: member(0),
        })),
      );
      await store.attachMessage(
        designs.map((d) => d.id),
        msg.id,
      );
      for (const e of voteEmojiFor(4)) msg.reactions.set(e, new Set([fake.botUser.id]));
      out.push({ id: msg.id, designIds: designs.map((d) => d.id) });
    }
    return out;
  };

  // When discord.js handed each event to the bot: the gateway's and discord.js's share of the time.
  let received = 0;
  let receivedAt = 0;
  const onReaction = () => void (received++, (receivedAt = performance.now()));
  bot.client.on('messageReactionAdd', onReaction);
  bot.client.on('messageReactionRemove', onReaction);
  const burst = async (label: string, send: (i: number) => void) => {
    const target = stored + EVENTS;
    const t0 = performance.now();
    for (let i = 0; i < EVENTS; i++) send(i);
    while (stored < target) await new Promise((r) => setTimeout(r, 1));
    const s = (performance.now() - t0) / 1000;
    const inClient = (receivedAt - t0) / 1000;
    console.log(
      `${label.padEnd(34)} ${EVENTS} events in ${s.toFixed(3)} s = ${Math.round(EVENTS / s)} events/s (the last one reached the bot's handler after ${inClient.toFixed(3)} s)`,
    );
  };
  const msgs = await designMessages(10);
  const at = (i: number) => ({
    messageId: msgs[i % msgs.length].id,
    emoji: voteEmojiFor(4)[Math.floor(i / msgs.length) % 4],
    user: member(1 + i),
  });
  await burst('first burst of adds (cold)', (i) => fake.addReaction({ ...at(i), user: member(50_000 + i) }));
  await burst('burst of adds (warm)', (i) => fake.addReaction(at(i)));
  await burst('burst of removals (end to end)', (i) => fake.removeReaction(at(i)));
  await burst('add -> remove pairs (end to end)', (i) =>
    i % 2 === 0 ? fake.addReaction(at(i >> 1)) : fake.removeReaction(at(i >> 1)),
  );
  console.log(`votes left: ${await store.db.vote.count()} (expected ${EVENTS}: the first burst's)`);

  // Reconcile: M messages, 3 members' reactions on each (found on Discord, missing in the table).
  const many = await designMessages(MESSAGES);
  for (const [i, m] of many.entries()) {
    const msg = fake.channelMessages().find((x) => x.id === m.id)!;
    for (let u = 0; u < 3; u++) msg.reactions.get(voteEmojiFor(4)[(i + u) % 4])!.add(member(10_000 + u));
  }
  const before = bot.votes.reconciler.reports.length;
  bot.votes.reconciler.request('start-up');
  await bot.votes.reconciler.idle();
  const r = bot.votes.reconciler.reports[before];
  const gets = fake.requests.filter((q) => q.method === 'GET' && q.route.startsWith('/channels/')).length;
  console.log(
    `reconcile of ${r.messages} messages: ${(r.ms / 1000).toFixed(2)} s (${r.added} votes added, ${r.removed} removed, ${gets} REST reads, ${r.unreadable} unreadable, ${r.failed} failed)`,
  );
} finally {
  await bot.stop();
  await fake.close();
  fs.rmSync(work, { recursive: true, force: true });
}
