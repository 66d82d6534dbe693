/**
 * Votes from reactions. A member's 1️⃣–4️⃣ (or 👍 on a single design) on one of
 * the bot's design messages is one upvote for that design; removing the
 * reaction removes it. Design messages are recognised through the database
 * (Design.messageId), so messages from before a restart — which arrive as
 * partials, uncached — count too. The bot's own reactions, other emoji and
 * other messages are ignored; duplicates and replays count once (unique
 * user+design in the Vote table). Votes missed while the bot was offline or
 * its storage failed are caught up by src/bot/reconcile.ts. This module holds the emoji and the
 * event; reaction-votes.ts listens to the gateway.
 */

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
