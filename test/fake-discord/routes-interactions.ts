/**
 * REST routes through which the bot answers interactions: the callback (reply, defer, update the
 * message, autocomplete, modal) and the interaction webhook (follow-ups, GET/PATCH/DELETE of the
 * @original reply or a follow-up). Every answer with a message becomes an InteractionReply.
 */
import { CallbackType, FLAG_EPHEMERAL, FLAG_LOADING } from './discord-constants.ts';
import type { FakeInteraction, FakeMessage } from './models.ts';
import { messagePayload } from './payloads.ts';
import type { RestCall, RestContext } from './rest-call.ts';

/** POST /interactions/:id/:token/callback. */
export function interactionRoutes(call: RestCall, ctx: RestContext): boolean {
  const g = call.method === 'POST' ? /^\/interactions\/(\d+)\/([^/]+)\/callback$/.exec(call.route) : null;
  if (!g) return false;
  const it = ctx.state.interactions.get(g[2]);
  if (!it || it.id !== g[1]) return call.notFound(10062, 'Unknown interaction');
  if ((it as any).acked) return call.send(400, { message: 'Interaction has already been acknowledged.', code: 40060 });
  (it as any).acked = true;
  const type = call.body?.type;
  const data = call.body?.data ?? {};
  let msg: FakeMessage | undefined;
  if (type === CallbackType.ChannelMessageWithSource || type === CallbackType.DeferredChannelMessageWithSource) {
    msg = originalReply(call, ctx, it, type, data);
  } else if (type === CallbackType.UpdateMessage || type === CallbackType.DeferredMessageUpdate) {
    msg = ctx.state.messages.get(it.payload.message?.id);
    if (msg && type === CallbackType.UpdateMessage) {
      ctx.state.applyMessageBody(msg, data, call.files, false);
      msg.edited_timestamp = new Date().toISOString();
    }
  } else if (type !== 1 && type !== 8 && type !== 9) {
    return call.send(400, { message: `fake: unsupported callback type ${type}`, code: 50035 });
  }
  if (msg && type !== CallbackType.DeferredMessageUpdate) {
    ctx.records.recordReply(it.token, { callbackType: type, ephemeral: isEphemeral(msg), message: msg });
  }
  if (call.query.with_response === 'true') return call.send(200, callbackResponse(ctx, it, type, msg));
  return call.send(204);
}

/** The interaction's @original message: with the body's content, or loading when deferred. */
function originalReply(call: RestCall, ctx: RestContext, it: FakeInteraction, type: number, data: any): FakeMessage {
  const { state } = ctx;
  const msg = state.createMessage(it.channelId, it.guildId, state.botUser, {
    id: it.id,
    token: it.token,
    userId: it.userId,
  });
  (msg as any).original = true;
  if ((data.flags ?? 0) & FLAG_EPHEMERAL) msg.flags |= FLAG_EPHEMERAL;
  if (type === CallbackType.DeferredChannelMessageWithSource) msg.flags |= FLAG_LOADING;
  else state.applyMessageBody(msg, data, call.files, true);
  return msg;
}

/** The callback's answer when `with_response=true`: the interaction and the message it made. */
function callbackResponse(ctx: RestContext, it: FakeInteraction, type: number, msg: FakeMessage | undefined) {
  return {
    interaction: {
      id: it.id,
      type: it.type,
      activity_instance_id: null,
      response_message_id: msg?.id ?? null,
      response_message_loading: type === 5,
      response_message_ephemeral: msg ? isEphemeral(msg) : false,
    },
    resource: msg ? { type, message: messagePayload(ctx.state, msg) } : { type },
  };
}

/** /webhooks/:app/:token (follow-ups) and /webhooks/:app/:token/messages/:id|@original (edits). */
export function webhookRoutes(call: RestCall, ctx: RestContext): boolean {
  const g = /^\/webhooks\/(\d+)\/([^/]+)(?:\/messages\/([^/]+))?$/.exec(call.route);
  if (!g) return false;
  const [, appId, token, which] = g;
  const { state } = ctx;
  const it = state.interactions.get(token);
  if (appId !== state.applicationId || !it) return call.notFound(10015, 'Unknown Webhook');
  if (!which && call.method === 'POST') return followUp(call, ctx, it);
  if (!which) return false;
  const msg = which === '@original' ? state.originalMessage(token) : state.messages.get(which);
  if (!msg || msg.interaction?.token !== token) return call.notFound(10008, 'Unknown Message');
  if (call.method === 'GET') return call.send(200, messagePayload(state, msg));
  if (call.method === 'PATCH') return editReply(call, ctx, it, msg);
  if (call.method === 'DELETE') {
    state.messages.delete(msg.id);
    return call.send(204);
  }
  return false;
}

function followUp(call: RestCall, ctx: RestContext, it: FakeInteraction): true {
  const { state } = ctx;
  const msg = state.createMessage(it.channelId, it.guildId, state.botUser, {
    id: it.id,
    token: it.token,
    userId: it.userId,
  });
  if ((call.body?.flags ?? 0) & FLAG_EPHEMERAL) msg.flags |= FLAG_EPHEMERAL;
  state.applyMessageBody(msg, call.body, call.files, true);
  ctx.records.recordReply(it.token, { callbackType: 0, ephemeral: isEphemeral(msg), message: msg });
  return call.query.wait === 'false' ? call.send(204) : call.send(200, messagePayload(state, msg));
}

/** An edit; the first edit of a deferred reply is its answer (edited_timestamp stays null). */
function editReply(call: RestCall, ctx: RestContext, it: FakeInteraction, msg: FakeMessage): true {
  const wasLoading = (msg.flags & FLAG_LOADING) !== 0;
  msg.flags &= ~FLAG_LOADING;
  ctx.state.applyMessageBody(msg, call.body, call.files, false);
  msg.edited_timestamp = wasLoading ? null : new Date().toISOString();
  ctx.records.recordReply(it.token, {
    callbackType: wasLoading ? CallbackType.DeferredChannelMessageWithSource : 0,
    ephemeral: isEphemeral(msg),
    message: msg,
  });
  return call.send(200, messagePayload(ctx.state, msg));
}

function isEphemeral(msg: FakeMessage): boolean {
  return (msg.flags & FLAG_EPHEMERAL) !== 0;
}
