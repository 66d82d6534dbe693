/**
 * Reactions users add and remove: the fake's record of who reacted, and the
 * MESSAGE_REACTION_ADD / _REMOVE events the bot receives.
 */
import type { FakeGateway } from './gateway.ts';
import type { FakeUser } from './models.ts';
import { emojiPayload, memberPayload } from './payloads.ts';
import type { FakeState } from './state.ts';

/** A reaction as `addReaction` / `removeReaction` take it. */
export interface ReactionUse {
  messageId: string;
  emoji: string;
  user?: FakeUser | string;
  channelId?: string;
  guildId?: string;
}

export class MemberReactions {
  constructor(
    private readonly state: FakeState,
    private readonly gateway: FakeGateway,
  ) {}

  /**
   * A user adds a reaction. The message need not be known to the fake (a
   * message from "before a restart"); then `channelId` defaults to the
   * default channel. Set `record: false` to replay an event without changing
   * the fake's state (duplicate delivery).
   */
  addReaction(opts: ReactionUse & { record?: boolean }): void {
    const user = this.state.actor(opts.user);
    const msg = this.state.messages.get(opts.messageId);
    const channelId = opts.channelId ?? msg?.channel_id ?? this.state.channelId;
    const guildId = opts.guildId ?? msg?.guild_id ?? this.state.guild.id;
    if (msg && opts.record !== false) {
      const set = msg.reactions.get(opts.emoji) ?? new Set<string>();
      set.add(user.id);
      msg.reactions.set(opts.emoji, set);
    }
    this.gateway.dispatch('MESSAGE_REACTION_ADD', {
      user_id: user.id,
      channel_id: channelId,
      message_id: opts.messageId,
      guild_id: guildId,
      member: memberPayload(user),
      emoji: emojiPayload(opts.emoji),
      message_author_id: msg?.author.id,
      burst: false,
      burst_colors: [],
      type: 0,
    });
  }

  /** A user removes a reaction. */
  removeReaction(opts: ReactionUse): void {
    const user = this.state.actor(opts.user);
    const msg = this.state.messages.get(opts.messageId);
    msg?.reactions.get(opts.emoji)?.delete(user.id);
    this.gateway.dispatch('MESSAGE_REACTION_REMOVE', {
      user_id: user.id,
      channel_id: opts.channelId ?? msg?.channel_id ?? this.state.channelId,
      message_id: opts.messageId,
      guild_id: opts.guildId ?? msg?.guild_id ?? this.state.guild.id,
      emoji: emojiPayload(opts.emoji),
      burst: false,
      type: 0,
    });
  }
}
