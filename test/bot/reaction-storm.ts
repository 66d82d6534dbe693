/**
 * Reaction traffic for vote tests: seeded storms of members' adds and removes sent through the fake
 * Discord's gateway, and the comparison that matters (the Vote table against the reactions the fake
 * says are present, exactly).
 */
import { Rng } from '../../src/gan/latent.ts';
import type { Store } from '../../src/bot/store.ts';
import { voteEmojiFor } from '../../src/bot/votes.ts';
import type { FakeDiscord } from '../fake-discord/server.ts';
import { sleep } from './harness.ts';

/** Members as snowflakes: 300000000000000000 + i. */
export const member = (i: number) => String(300000000000000000n + BigInt(i));

export interface StormOptions {
  seed: number;
  messages: { id: string; designs: number }[];
  members: number;
  events: number;
  /** Events per burst: 1..maxBurst. */
  maxBurst?: number;
  /** Pause after each burst: 0..maxGapMs. */
  maxGapMs?: number;
}

/**
 * Sends `events` reaction events in bursts with random gaps. Each event toggles one member's vote
 * emoji on one message (add if absent, remove if present); a third of them come as an add
 * immediately followed by the remove (the un-react that used to leave a vote behind). Returns how
 * many events were sent.
 */
export async function reactionStorm(fake: FakeDiscord, o: StormOptions): Promise<number> {
  const rng = new Rng(o.seed);
  const maxBurst = o.maxBurst ?? 40;
  const maxGapMs = o.maxGapMs ?? 250;
  let sent = 0;
  while (sent < o.events) {
    const burst = 1 + rng.int(maxBurst);
    for (let i = 0; i < burst && sent < o.events; i++) {
      const msg = o.messages[rng.int(o.messages.length)];
      const emoji = voteEmojiFor(msg.designs)[rng.int(msg.designs)];
      const user = member(rng.int(o.members));
      const present =
        fake
          .channelMessages()
          .find((m) => m.id === msg.id)
          ?.reactions.get(emoji)
          ?.has(user) ?? false;
      if (!present && rng.uniform() < 1 / 3 && sent + 2 <= o.events) {
        fake.addReaction({ messageId: msg.id, emoji, user });
        fake.removeReaction({ messageId: msg.id, emoji, user });
        sent += 2;
      } else {
        if (present) fake.removeReaction({ messageId: msg.id, emoji, user });
        else fake.addReaction({ messageId: msg.id, emoji, user });
        sent++;
      }
    }
    await sleep(rng.int(maxGapMs + 1));
  }
  return sent;
}

/** `designId:userId` of every vote the fake's reactions say there should be on these messages (bots' reactions left out). */
export async function expectedVotes(fake: FakeDiscord, store: Store, messageIds: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const id of messageIds) {
    const msg = fake.channelMessages().find((m) => m.id === id);
    const designs = await store.findDesignsByMessage(id);
    const emoji = voteEmojiFor(designs.length);
    for (const d of designs)
      for (const u of msg?.reactions.get(emoji[d.gridIndex]) ?? [])
        if (u !== fake.botUser.id && !fake.user(u).bot) out.push(`${d.id}:${u}`);
  }
  return out.sort();
}

/** `designId:userId` of the stored votes on these messages' designs. */
export async function storedVotes(store: Store, messageIds: string[]): Promise<string[]> {
  const designs = (await Promise.all(messageIds.map((id) => store.findDesignsByMessage(id)))).flat();
  const votes = await store.db.vote.findMany({ where: { designId: { in: designs.map((d) => d.id) } } });
  return votes.map((v) => `${v.designId}:${v.userId}`).sort();
}
