/**
 * What a fake Discord knows: its application and bot user, guilds and channels, users, messages
 * (with their attachments and reactions), registered commands and interactions, and where it
 * listens. The gateway, the REST routes and the member actions all read and change this one state.
 */
import { randomBytes } from 'node:crypto';
import { FLAG_EPHEMERAL, FLAG_LOADING } from './discord-constants.ts';
import type {
  FakeApplicationOwner,
  FakeAttachment,
  FakeDiscordOptions,
  FakeGuild,
  FakeInteraction,
  FakeMessage,
  FakeUser,
  RecordedFile,
  RegisteredCommand,
} from './models.ts';
import { snowflake } from './snowflakes.ts';

export class FakeState {
  readonly token: string;
  readonly applicationId: string;
  readonly botUser: FakeUser;
  readonly guilds: FakeGuild[];
  readonly users = new Map<string, FakeUser>();
  readonly messages = new Map<string, FakeMessage>();
  readonly commands = { global: [] as RegisteredCommand[], guild: new Map<string, RegisteredCommand[]>() };
  readonly interactions = new Map<string, FakeInteraction>();
  /** Answer every `every`-th GET of a reaction's users with a 429 (tests of rate-limit handling); off when unset. */
  reactionReadLimit: { every: number; retryAfterSeconds: number } | undefined;
  /** GETs of a reaction's users so far (what `reactionReadLimit` counts). */
  reactionReads = 0;
  /** What GET /gateway/bot recommends as `shards` (tests may change it). */
  recommendedShards: number;
  /** Served by GET /applications/@me; tests may change it before the bot starts. */
  application: FakeApplicationOwner;
  /** The port the fake listens on, once it does. */
  protected port = 0;

  protected constructor(opts: FakeDiscordOptions) {
    this.token = opts.token ?? `fake.${randomBytes(12).toString('hex')}`;
    this.applicationId = opts.applicationId ?? snowflake();
    this.botUser = {
      id: opts.botUser?.id ?? this.applicationId,
      username: opts.botUser?.username ?? 'shoebot',
      bot: true,
    };
    this.users.set(this.botUser.id, this.botUser);
    const inits = opts.guilds ?? [{}];
    this.guilds = inits.map((g, i) => ({
      id: g.id ?? snowflake(),
      name: g.name ?? `Fake Guild ${i + 1}`,
      channels: (g.channelIds ?? [snowflake()]).map((id, j) => ({ id, name: j === 0 ? 'general' : `channel-${j}` })),
      ownerId: g.ownerId ?? snowflake(),
    }));
    this.recommendedShards = opts.recommendedShards ?? 1;
    this.application = opts.application ?? {};
  }

  /** REST base for discord.js `rest.api` / DISCORD_API_BASE (discord.js appends /v10). */
  get apiBase(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }
  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  /** The first guild and its first channel: where helpers act by default. */
  get guild(): FakeGuild {
    return this.guilds[0];
  }
  get channelId(): string {
    return this.guild.channels[0].id;
  }

  /** A user (created on first use) to act as in interactions and reactions. */
  user(id?: string, username?: string): FakeUser {
    const uid = id ?? snowflake();
    let u = this.users.get(uid);
    if (!u) {
      u = { id: uid, username: username ?? `user${this.users.size}` };
      this.users.set(uid, u);
    }
    return u;
  }

  /** The user a member action names (an id or a user), alice when it names none. */
  actor(user: FakeUser | string | undefined): FakeUser {
    return typeof user === 'string' ? this.user(user) : (user ?? this.user('100000000000000001', 'alice'));
  }

  /** A registered command by name: the guild's own first, then the global one. */
  findCommand(name: string, guildId?: string): RegisteredCommand | undefined {
    return (
      (guildId ? this.commands.guild.get(guildId)?.find((c) => c.name === name) : undefined) ??
      this.commands.global.find((c) => c.name === name)
    );
  }

  /** A message the bot posted earlier (e.g. before a restart), in `channelId` (default channel). */
  postBotMessage(opts: { channelId?: string; content?: string } = {}): FakeMessage {
    const channelId = opts.channelId ?? this.channelId;
    const guild = this.guilds.find((g) => g.channels.some((c) => c.id === channelId));
    const m = this.createMessage(channelId, guild?.id, this.botUser);
    m.content = opts.content ?? '';
    return m;
  }

  /** Deletes a message (as a moderator would): later reads answer 10008 Unknown Message. */
  deleteMessage(id: string): void {
    this.messages.delete(id);
  }

  /** Messages in a channel, oldest first. */
  channelMessages(channelId = this.channelId): FakeMessage[] {
    return [...this.messages.values()].filter((m) => m.channel_id === channelId);
  }

  /** The bot's original reply to an interaction, if any. */
  originalMessage(token: string): FakeMessage | undefined {
    return [...this.messages.values()].find((m) => m.interaction?.token === token && (m as any).original);
  }

  /** Stores a new empty message by `author` in a channel and returns it. */
  createMessage(
    channelId: string,
    guildId: string | undefined,
    author: FakeUser,
    interaction?: FakeMessage['interaction'],
  ): FakeMessage {
    const m: FakeMessage = {
      id: snowflake(),
      channel_id: channelId,
      guild_id: guildId,
      author,
      content: '',
      flags: 0,
      components: [],
      embeds: [],
      attachments: [],
      reactions: new Map(),
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      interaction,
    };
    this.messages.set(m.id, m);
    return m;
  }

  /**
   * Applies a message body the bot sent (content, components, embeds, flags, attachments) to `m`.
   * Uploaded `files` are added, or replace the attachments when `replaceAttachments`; a body's
   * `attachments` list decides instead when present.
   */
  applyMessageBody(m: FakeMessage, body: any, files: RecordedFile[], replaceAttachments: boolean): void {
    if (!body) body = {};
    if (typeof body.content === 'string') m.content = body.content;
    if (Array.isArray(body.components)) m.components = body.components;
    if (Array.isArray(body.embeds)) m.embeds = body.embeds;
    if (typeof body.flags === 'number') m.flags = (m.flags & FLAG_EPHEMERAL) | (body.flags & ~FLAG_LOADING);
    if (Array.isArray(body.attachments)) {
      m.attachments = this.listedAttachments(m, body.attachments, files);
    } else if (files.length) {
      const added = files.map((f) => this.newAttachment(m, f));
      m.attachments = replaceAttachments ? added : [...m.attachments, ...added];
    }
  }

  /**
   * Discord semantics of a body's `attachments`: the list names attachments to keep (existing
   * ids) and new uploads (id = index into files[n]).
   */
  private listedAttachments(m: FakeMessage, listed: any[], files: RecordedFile[]): FakeAttachment[] {
    const kept: FakeAttachment[] = [];
    for (const a of listed) {
      const existing = m.attachments.find((x) => x.id === String(a.id));
      if (existing) kept.push(existing);
      else {
        const up = files.find((f) => f.field === `files[${a.id}]`);
        if (up) kept.push(this.newAttachment(m, up, a.filename));
      }
    }
    return kept;
  }

  private newAttachment(m: FakeMessage, f: RecordedFile, filename?: string): FakeAttachment {
    const id = snowflake();
    const name = filename ?? f.filename;
    return {
      id,
      filename: name,
      content_type: f.contentType,
      size: f.data.length,
      url: `${this.baseUrl}/attachments/${m.channel_id}/${id}/${encodeURIComponent(name)}`,
      data: f.data,
    };
  }
}
