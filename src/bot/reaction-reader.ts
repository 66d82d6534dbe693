/**
 * Reading a message's reactions back from Discord's REST API (what a reconcile compares the Vote
 * table with). discord.js's REST client queues requests per rate-limit bucket and waits out 429s
 * itself; this module only pages through the users.
 */
import { DiscordAPIError, Routes, type REST } from 'discord.js';

/**
 * Spaces requests out to `perSecond`. discord.js counts every request against one global budget
 * of 50/s, interaction answers included, so a reconcile must leave most of it to /shoe.
 */
export class RequestPacer {
  private next = 0;
  constructor(private readonly perSecond: number) {}

  async wait(): Promise<void> {
    const now = performance.now();
    const at = Math.max(now, this.next);
    this.next = at + 1000 / this.perSecond;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  }
}

/** Users per page: Discord's maximum for GET .../reactions/{emoji}. */
const PAGE = 100;

interface ApiUser {
  id: string;
  bot?: boolean;
}
interface ApiReaction {
  emoji: { id: string | null; name: string | null };
  count: number;
  me: boolean;
}

/** Discord errors that mean "this message cannot be read" (deleted, channel gone, no access) rather than a failure to retry. */
const UNREADABLE = new Set([10003, 10008, 50001, 50013]);

export function isUnreadableMessage(err: unknown): boolean {
  return err instanceof DiscordAPIError && UNREADABLE.has(Number(err.code));
}

/**
 * Emoji -> how many users reacted with it, other than the bot (from the message itself: one
 * request tells which emoji lists need reading at all).
 */
export async function reactionCounts(
  rest: REST,
  pacer: RequestPacer,
  channelId: string,
  messageId: string,
): Promise<Map<string, number>> {
  await pacer.wait();
  const msg = (await rest.get(Routes.channelMessage(channelId, messageId))) as { reactions?: ApiReaction[] };
  const out = new Map<string, number>();
  for (const r of msg.reactions ?? [])
    if (r.emoji.name && r.emoji.id === null) out.set(r.emoji.name, r.count - (r.me ? 1 : 0));
  return out;
}

/** Ids of the human users who reacted with `emoji` (a Unicode emoji), every page. */
export async function reactionUsers(
  rest: REST,
  pacer: RequestPacer,
  channelId: string,
  messageId: string,
  emoji: string,
): Promise<Set<string>> {
  const users = new Set<string>();
  for (let after: string | undefined; ;) {
    const query = new URLSearchParams({ limit: String(PAGE), ...(after ? { after } : {}) });
    await pacer.wait();
    const page = (await rest.get(Routes.channelMessageReaction(channelId, messageId, encodeURIComponent(emoji)), {
      query,
    })) as ApiUser[];
    for (const u of page) if (!u.bot) users.add(u.id);
    if (page.length < PAGE) return users;
    after = page[page.length - 1].id;
  }
}
