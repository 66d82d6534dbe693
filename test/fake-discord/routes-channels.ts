/**
 * REST routes about channels and what is in them: who reacted with an emoji (paged, optionally
 * rate-limited), the bot's own reactions, message and channel reads, and guild members.
 */
import { FLAG_EPHEMERAL } from './discord-constants.ts';
import { memberPayload, messagePayload, userPayload } from './payloads.ts';
import type { RestCall, RestContext } from './rest-call.ts';
import type { FakeState } from './state.ts';

const REACTIONS = /^\/channels\/(\d+)\/messages\/(\d+)\/reactions\/([^/]+)$/;
const BOT_REACTION = /^\/channels\/(\d+)\/messages\/(\d+)\/reactions\/([^/]+)\/@me$/;
const MESSAGE = /^\/channels\/(\d+)\/messages\/(\d+)$/;
const CHANNEL = /^\/channels\/(\d+)$/;
const MEMBER = /^\/guilds\/(\d+)\/members\/(\d+)$/;

/** Reactions, messages, channels and members. */
export function channelRoutes(call: RestCall, ctx: RestContext): boolean {
  const { method, route } = call;
  const { state } = ctx;
  let g: RegExpExecArray | null;
  if (method === 'GET' && (g = REACTIONS.exec(route))) return reactionUsers(call, state, g[1], g[2], g[3]);
  if ((g = BOT_REACTION.exec(route)) && botReaction(call, ctx, g[1], g[2], g[3])) return true;
  if (method === 'GET' && (g = MESSAGE.exec(route))) {
    const msg = state.messages.get(g[2]);
    if (!msg || msg.channel_id !== g[1] || msg.flags & FLAG_EPHEMERAL) return call.notFound(10008, 'Unknown Message');
    return call.send(200, messagePayload(state, msg));
  }
  if (method === 'GET' && (g = CHANNEL.exec(route))) return channel(call, state, g[1]);
  if (method === 'GET' && (g = MEMBER.exec(route))) {
    const u = state.users.get(g[2]);
    return u ? call.send(200, memberPayload(u)) : call.notFound(10007, 'Unknown Member');
  }
  return false;
}

/** Who reacted with an emoji: ascending user ids after `after`, `limit` 1-100 (default 25), as Discord pages them. */
function reactionUsers(call: RestCall, state: FakeState, channelId: string, messageId: string, emoji: string): true {
  const { query } = call;
  const msg = state.messages.get(messageId);
  if (!msg || msg.channel_id !== channelId || msg.flags & FLAG_EPHEMERAL)
    return call.notFound(10008, 'Unknown Message');
  const limit = query.limit === undefined ? 25 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    return call.send(400, { message: 'Invalid Form Body', code: 50035 });
  if (state.reactionReadLimit && ++state.reactionReads % state.reactionReadLimit.every === 0) {
    const retryAfter = state.reactionReadLimit.retryAfterSeconds;
    const headers = {
      'retry-after': String(retryAfter),
      'x-ratelimit-scope': 'user',
      'x-ratelimit-bucket': 'reactions',
    };
    return call.send(429, { message: 'You are being rate limited.', retry_after: retryAfter, global: false }, headers);
  }
  if (query.after !== undefined && !/^\d{1,20}$/.test(query.after))
    return call.send(400, { message: 'Invalid Form Body', code: 50035 });
  const after = query.after === undefined ? -1n : BigInt(query.after);
  const ids = [...(msg.reactions.get(emoji) ?? [])].map(BigInt).filter((id) => id > after);
  ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return call.send(
    200,
    ids
      .slice(0, limit)
      .map((id) => userPayload(id === BigInt(state.botUser.id) ? state.botUser : state.user(String(id)))),
  );
}

/** PUT / DELETE of the bot's own reaction; false for other methods. */
function botReaction(call: RestCall, ctx: RestContext, channelId: string, messageId: string, emoji: string): boolean {
  const { state } = ctx;
  const msg = state.messages.get(messageId);
  if (!msg || msg.channel_id !== channelId) return call.notFound(10008, 'Unknown Message');
  if (call.method === 'PUT') {
    const set = msg.reactions.get(emoji) ?? new Set<string>();
    const isNew = !set.has(state.botUser.id);
    set.add(state.botUser.id);
    msg.reactions.set(emoji, set);
    call.send(204);
    // Discord tells the bot about its own reactions too; the bot must ignore them.
    if (isNew) ctx.reactions.addReaction({ messageId, emoji, user: state.botUser, record: false });
    return true;
  }
  if (call.method === 'DELETE') {
    msg.reactions.get(emoji)?.delete(state.botUser.id);
    return call.send(204);
  }
  return false;
}

function channel(call: RestCall, state: FakeState, channelId: string): true {
  for (const guild of state.guilds) {
    const c = guild.channels.find((x) => x.id === channelId);
    if (c)
      return call.send(200, {
        id: c.id,
        type: 0,
        name: c.name,
        guild_id: guild.id,
        position: 0,
        permission_overwrites: [],
      });
  }
  return call.notFound(10003, 'Unknown Channel');
}
