/**
 * What members do that reaches the bot as INTERACTION_CREATE: run a slash command (or type in an
 * autocompleted option), use a context menu, press a button, pick in a select menu, submit a
 * modal. Each builds the payload Discord would send, keeps the interaction (so the REST routes can
 * accept the bot's answer) and dispatches it.
 */
import { randomBytes } from 'node:crypto';
import { InteractionType, OptionType } from './discord-constants.ts';
import type { FakeGateway } from './gateway.ts';
import type { CommandOptionDef, FakeInteraction, FakeMessage, FakeUser, RegisteredCommand } from './models.ts';
import { memberPayload, messagePayload, userPayload } from './payloads.ts';
import { snowflake } from './snowflakes.ts';
import type { FakeState } from './state.ts';

/** A slash command as `sendCommand` runs it. */
export interface CommandUse {
  name: string;
  options?: Record<string, unknown>;
  subcommand?: string;
  user?: FakeUser | string;
  guildId?: string | null;
  channelId?: string;
  /**
   * Send an autocomplete interaction (type 4) instead, with this option
   * focused (being typed); the bot answers with callback type 8, whose
   * `data.choices` the recorded request holds.
   */
  focused?: string;
  /** Option types to send instead of the registered ones (a client sending the wrong type). */
  optionTypes?: Record<string, number>;
}

/** A context-menu command as `sendContextMenu` uses it. */
export interface ContextMenuUse {
  name: string;
  target: 'user' | 'message';
  targetId: string;
  user?: FakeUser | string;
}

/** A press of a message's button. */
export interface ButtonPress {
  message: FakeMessage | string;
  customId: string;
  user?: FakeUser | string;
}

/** A pick of `values` in a message's string select menu. */
export interface SelectMenuChoice {
  message: FakeMessage | string;
  customId: string;
  values: string[];
  user?: FakeUser | string;
}

/** A modal submitted (`fields`: text input custom_id -> value). */
export interface ModalSubmission {
  customId: string;
  fields?: Record<string, string>;
  user?: FakeUser | string;
}

export class MemberInteractions {
  constructor(
    private readonly state: FakeState,
    private readonly gateway: FakeGateway,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * A member runs a slash command. Option types come from the registered
   * command (so discord.js resolves them); values are sent as given, not
   * coerced or range-checked, so tests can send bad input.
   */
  sendCommand(opts: CommandUse): FakeInteraction {
    const user = this.state.actor(opts.user);
    const guildId = opts.guildId === null ? undefined : (opts.guildId ?? this.state.guild.id);
    const channelId = opts.channelId ?? this.state.channelId;
    const cmd = this.state.findCommand(opts.name, guildId);
    const options = commandOptions(opts, cmd);
    const payload = this.baseInteraction(
      opts.focused ? 4 : InteractionType.ApplicationCommand,
      user,
      guildId,
      channelId,
    );
    payload.data = {
      id: cmd?.id ?? snowflake(),
      name: opts.name,
      type: 1,
      options,
      ...(guildId && cmd?.guild_id ? { guild_id: guildId } : {}),
    };
    return this.deliver(payload, user, guildId, channelId);
  }

  /** A member presses a button on a message (by custom_id). */
  pressButton(opts: ButtonPress): FakeInteraction {
    const msg = this.findMessage(opts.message);
    const user = this.state.actor(opts.user);
    const payload = this.baseInteraction(InteractionType.MessageComponent, user, msg.guild_id, msg.channel_id);
    payload.message = messagePayload(this.state, msg);
    payload.data = { custom_id: opts.customId, component_type: 2 };
    return this.deliver(payload, user, msg.guild_id, msg.channel_id);
  }

  /** A member uses a context-menu command (`target` 'user': on a user; 'message': on a message of the channel). */
  sendContextMenu(opts: ContextMenuUse): FakeInteraction {
    const user = this.state.actor(opts.user);
    const msg = opts.target === 'message' ? this.state.messages.get(opts.targetId) : undefined;
    if (opts.target === 'message' && !msg) throw new Error(`fake discord: no message ${opts.targetId}`);
    const guildId = msg?.guild_id ?? this.state.guild.id;
    const channelId = msg?.channel_id ?? this.state.channelId;
    const payload = this.baseInteraction(InteractionType.ApplicationCommand, user, guildId, channelId);
    const resolved = msg
      ? { messages: { [msg.id]: messagePayload(this.state, msg) } }
      : { users: { [opts.targetId]: userPayload(this.state.user(opts.targetId)) } };
    payload.data = {
      id: snowflake(),
      name: opts.name,
      type: opts.target === 'user' ? 2 : 3,
      target_id: opts.targetId,
      resolved,
    };
    return this.deliver(payload, user, guildId, channelId);
  }

  /** A member picks `values` in a string select menu on a message. */
  chooseInSelectMenu(opts: SelectMenuChoice): FakeInteraction {
    const msg = this.findMessage(opts.message);
    const user = this.state.actor(opts.user);
    const payload = this.baseInteraction(InteractionType.MessageComponent, user, msg.guild_id, msg.channel_id);
    payload.message = messagePayload(this.state, msg);
    payload.data = { custom_id: opts.customId, component_type: 3, values: opts.values };
    return this.deliver(payload, user, msg.guild_id, msg.channel_id);
  }

  /** A member submits a modal (`fields`: text input custom_id -> value). */
  submitModal(opts: ModalSubmission): FakeInteraction {
    const user = this.state.actor(opts.user);
    const { guild, channelId } = this.state;
    const payload = this.baseInteraction(5, user, guild.id, channelId);
    const rows = Object.entries(opts.fields ?? {}).map(([id, value]) => ({
      type: 1,
      components: [{ type: 4, custom_id: id, value }],
    }));
    payload.data = { custom_id: opts.customId, components: rows };
    return this.deliver(payload, user, guild.id, channelId);
  }

  private findMessage(message: FakeMessage | string): FakeMessage {
    const msg = typeof message === 'string' ? this.state.messages.get(message) : message;
    if (!msg) throw new Error(`fake discord: no message ${String(message)}`);
    return msg;
  }

  /** The fields every interaction carries: ids, token, channel, and the member (in a guild) or user (in a DM). */
  private baseInteraction(type: number, user: FakeUser, guildId: string | undefined, channelId: string) {
    const id = snowflake();
    const token = `itok_${randomBytes(24).toString('hex')}`;
    const payload: any = {
      id,
      application_id: this.state.applicationId,
      type,
      token,
      version: 1,
      channel_id: channelId,
      channel: {
        id: channelId,
        type: guildId ? 0 : 1,
        guild_id: guildId,
        name: 'general',
        permissions: '2251799813685247',
        flags: 0,
        nsfw: false,
      },
      locale: 'en-US',
      app_permissions: '2251799813685247',
      entitlements: [],
      authorizing_integration_owners: guildId ? { '0': guildId } : { '1': user.id },
      context: guildId ? 0 : 1,
      attachment_size_limit: 10 * 1024 * 1024,
    };
    if (guildId) {
      payload.guild_id = guildId;
      payload.guild = { id: guildId, locale: 'en-US', features: [] };
      payload.guild_locale = 'en-US';
      payload.member = memberPayload(user);
    } else {
      payload.user = userPayload(user);
    }
    return payload;
  }

  /** Keeps the interaction (its token is how the bot answers) and dispatches INTERACTION_CREATE. */
  private deliver(payload: any, user: FakeUser, guildId: string | undefined, channelId: string): FakeInteraction {
    const it: FakeInteraction = {
      id: payload.id,
      token: payload.token,
      type: payload.type,
      userId: user.id,
      channelId,
      guildId,
      payload,
    };
    this.state.interactions.set(it.token, it);
    this.log(`interaction ${describe(payload)} by ${user.username}`);
    this.gateway.dispatch('INTERACTION_CREATE', payload);
    return it;
  }
}

/** "/name" for a command or autocomplete, else "modal id" or "component id" (for the log). */
function describe(payload: any): string {
  if (payload.type === 2 || payload.type === 4) return '/' + payload.data.name;
  return (payload.type === 5 ? 'modal ' : 'component ') + payload.data.custom_id;
}

/** A command's options as the client sends them: one level, or under the subcommand. */
function commandOptions(opts: CommandUse, cmd: RegisteredCommand | undefined): unknown[] {
  const leaf = (defs: CommandOptionDef[] | undefined) =>
    Object.entries(opts.options ?? {}).map(([name, value]) => ({
      name,
      type: optionType(opts, defs, name, value),
      value,
      ...(name === opts.focused ? { focused: true } : {}),
    }));
  if (!opts.subcommand) return leaf(cmd?.options);
  const sub = cmd?.options?.find((o) => o.name === opts.subcommand);
  return [{ name: opts.subcommand, type: OptionType.Subcommand, options: leaf(sub?.options) }];
}

/** An option's type: forced by the test, else the registered one, else guessed from the value. */
function optionType(opts: CommandUse, defs: CommandOptionDef[] | undefined, key: string, value: unknown): number {
  const forced = opts.optionTypes?.[key];
  if (forced !== undefined) return forced;
  const def = defs?.find((o) => o.name === key);
  if (def) return def.type;
  if (typeof value === 'number') return Number.isInteger(value) ? OptionType.Integer : OptionType.Number;
  return typeof value === 'boolean' ? OptionType.Boolean : OptionType.String;
}
