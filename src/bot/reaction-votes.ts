/** Reaction events from the gateway, turned into vote events for the ordered vote writer. */
import type { Client, MessageReaction, PartialMessageReaction, PartialUser, User } from 'discord.js';
import type { VoteWriter } from './vote-writer.ts';
import { GRID_EMOJI, SINGLE_EMOJI } from './votes.ts';

/**
 * Subscribes to reaction events: each vote emoji a member adds or removes joins the vote writer's
 * queue synchronously, in the order the gateway delivered it (src/bot/vote-writer.ts stores them
 * in that order). Returns an unsubscribe function.
 */
export function attachVoteHandlers(client: Client, writer: VoteWriter): () => void {
  const handle =
    (kind: 'add' | 'remove') => (reaction: MessageReaction | PartialMessageReaction, user: User | PartialUser) => {
      if (user.id === client.user?.id || user.bot) return;
      const emoji = reaction.emoji.name;
      // Cheap filter before touching the database.
      if (emoji !== SINGLE_EMOJI && !(GRID_EMOJI as readonly string[]).includes(emoji ?? '')) return;
      writer.push({ kind, userId: user.id, messageId: reaction.message.id, emoji: emoji! });
    };
  const onAdd = handle('add');
  const onRemove = handle('remove');
  client.on('messageReactionAdd', onAdd);
  client.on('messageReactionRemove', onRemove);
  return () => {
    client.off('messageReactionAdd', onAdd);
    client.off('messageReactionRemove', onRemove);
  };
}
