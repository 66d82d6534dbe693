/**
 * Votes from reactions. A member's 1️⃣–4️⃣ (or 👍 on a single design) on one of
 * the bot's design messages is one upvote for that design; removing the
 * reaction removes it. Design messages are recognised through the database
 * (Design.messageId), so messages from before a restart — which arrive as
 * partials, uncached — count too. The bot's own reactions, other emoji and
 * other messages are ignored; duplicates and replays count once (unique
 * user+design in the Vote table).
 */
import type { Client, MessageReaction, PartialMessageReaction, PartialUser, User } from 'discord.js';
import type { Logger } from 'pino';
import type { Store } from './store.ts';
import { communityTaste } from './community.ts';

/** Vote emoji for grid positions 0..3. */
export const GRID_EMOJI = ['1️⃣', '2️⃣', '3️⃣', '4️⃣'] as const;
/** Vote emoji for a message showing one design. */
export const SINGLE_EMOJI = '👍';

/** The vote emoji to seed on a message showing `count` designs. */
export function voteEmojiFor(count: number): string[] {
  return count === 1 ? [SINGLE_EMOJI] : GRID_EMOJI.slice(0, count);
}

/** Grid position an emoji votes for on a message with `count` designs, or -1. */
export function gridIndexForEmoji(emoji: string | null | undefined, count: number): number {
  if (!emoji) return -1;
  if (count === 1) return emoji === SINGLE_EMOJI ? 0 : -1;
  const i = (GRID_EMOJI as readonly string[]).indexOf(emoji);
  return i >= 0 && i < count ? i : -1;
}

export interface VoteEvent {
  kind: 'add' | 'remove';
  userId: string;
  messageId: string;
  designId: number;
  changed: boolean;
}

/**
 * Subscribes to reaction events. `onVote` (tests, metrics) sees every
 * counted event after it is stored. Returns an unsubscribe function.
 */
export function attachVoteHandlers(client: Client, store: Store, log: Logger, onVote?: (e: VoteEvent) => void): () => void {
  const handle = async (kind: 'add' | 'remove', reaction: MessageReaction | PartialMessageReaction, user: User | PartialUser) => {
    if (user.id === client.user?.id || user.bot) return;
    const emoji = reaction.emoji.name;
    // Cheap filter before touching the database.
    if (emoji !== SINGLE_EMOJI && !(GRID_EMOJI as readonly string[]).includes(emoji ?? '')) return;
    const messageId = reaction.message.id;
    const designs = await store.findDesignsByMessage(messageId);
    if (!designs.length) return;
    const idx = gridIndexForEmoji(emoji, designs.length);
    const design = designs.find((d) => d.gridIndex === idx);
    if (!design) return;
    const changed = kind === 'add' ? await store.addVote(user.id, design.id) : await store.removeVote(user.id, design.id);
    log.debug({ kind, user: user.id, message: messageId, design: design.id, changed }, 'vote');
    // The guild's community taste is now stale (refitted after a quiet moment).
    if (changed) communityTaste(store).noteVote(design.guildId);
    onVote?.({ kind, userId: user.id, messageId, designId: design.id, changed });
  };
  const wrap = (kind: 'add' | 'remove') => (reaction: MessageReaction | PartialMessageReaction, user: User | PartialUser) => {
    handle(kind, reaction, user).catch((err) => log.error({ err, kind, message: reaction.message.id }, 'vote not recorded'));
  };
  const onAdd = wrap('add');
  const onRemove = wrap('remove');
  client.on('messageReactionAdd', onAdd);
  client.on('messageReactionRemove', onRemove);
  return () => {
    client.off('messageReactionAdd', onAdd);
    client.off('messageReactionRemove', onRemove);
  };
}
