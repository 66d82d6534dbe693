/**
 * A small Discord-compatible server on 127.0.0.1 for tests and local demos.
 *
 * Gateway (WebSocket, JSON frames, API v10): HELLO, IDENTIFY -> READY +
 * GUILD_CREATE, heartbeat ACK, RESUME (replays missed events), intent
 * filtering, dropping connections, sharding (IDENTIFY with `shard: [id, count]`
 * gets only its guilds' events, routed as Discord does: (guild_id >> 22) %
 * count; DMs go to shard 0; `/gateway/bot` recommends `recommendedShards`).
 * REST: the routes discord.js 14 uses for
 * a slash-command bot (gateway info, command registration, interaction
 * callbacks JSON or multipart, @original edits, follow-ups, reactions,
 * message fetches). Everything received is recorded so tests can assert on
 * it (`waitForRequest`, `waitForReply`, `gatewayLog`).
 *
 * It models just enough of Discord for shoebot; it is not a general emulator.
 *
 *   const fake = await FakeDiscord.start();            // 127.0.0.1, random port
 *   // bot: DISCORD_API_BASE=fake.apiBase, DISCORD_TOKEN=fake.token, DISCORD_GUILD_ID=fake.guild.id
 *   const it = fake.sendCommand({ name: 'shoe', options: { count: 2 }, user: '1000…' });
 *   const reply = await fake.waitForReply(it);         // message, attachments (bytes), ephemeral
 *   fake.pressButton({ message: reply.message, customId: 'shoe:…' });
 *   fake.addReaction({ messageId: reply.message.id, emoji: '1️⃣', user: '1000…' });
 *   fake.dropConnections();                             // the client RESUMEs
 *   await client.destroy(); await fake.close();         // in this order
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';

// ---- Discord constants the fake needs (kept local so the fake doesn't depend on discord.js) ----
export const Intents = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildMessages: 1 << 9,
  GuildMessageReactions: 1 << 10,
  DirectMessages: 1 << 12,
  DirectMessageReactions: 1 << 13,
  MessageContent: 1 << 15,
} as const;

/** Which intent a dispatch needs (undefined = always delivered). */
const EVENT_INTENT: Record<string, number | undefined> = {
  GUILD_CREATE: Intents.Guilds,
  GUILD_UPDATE: Intents.Guilds,
  GUILD_DELETE: Intents.Guilds,
  CHANNEL_CREATE: Intents.Guilds,
  CHANNEL_UPDATE: Intents.Guilds,
  CHANNEL_DELETE: Intents.Guilds,
  MESSAGE_CREATE: Intents.GuildMessages,
  MESSAGE_UPDATE: Intents.GuildMessages,
  MESSAGE_DELETE: Intents.GuildMessages,
  MESSAGE_REACTION_ADD: Intents.GuildMessageReactions,
  MESSAGE_REACTION_REMOVE: Intents.GuildMessageReactions,
  MESSAGE_REACTION_REMOVE_ALL: Intents.GuildMessageReactions,
  MESSAGE_REACTION_REMOVE_EMOJI: Intents.GuildMessageReactions,
};

const OptionType = {
  Subcommand: 1,
  SubcommandGroup: 2,
  String: 3,
  Integer: 4,
  Boolean: 5,
  User: 6,
  Channel: 7,
  Role: 8,
  Number: 10,
} as const;
const InteractionType = { ApplicationCommand: 2, MessageComponent: 3 } as const;
const CallbackType = {
  ChannelMessageWithSource: 4,
  DeferredChannelMessageWithSource: 5,
  DeferredMessageUpdate: 6,
  UpdateMessage: 7,
} as const;
const FLAG_EPHEMERAL = 1 << 6;
const FLAG_LOADING = 1 << 7;

// ---- Types ----
export interface FakeUser {
  id: string;
  username: string;
  bot?: boolean;
  /** Permissions as a member of the fake's guilds (a bit field as a decimal string); default MEMBER_PERMISSIONS. */
  permissions?: string;
}

/** An ordinary member's permissions: view, send, embed, attach, history, react, external emoji, use commands. */
export const MEMBER_PERMISSIONS = String(
  (1n << 10n) | (1n << 11n) | (1n << 14n) | (1n << 15n) | (1n << 16n) | (1n << 6n) | (1n << 18n) | (1n << 31n),
);
/** A server administrator (the Administrator bit implies every other). */
export const ADMINISTRATOR_PERMISSIONS = String(1n << 3n);

export interface FakeAttachment {
  id: string;
  filename: string;
  content_type: string;
  size: number;
  url: string;
  /** The uploaded bytes (not part of the API shape). */
  data: Buffer;
}

export interface FakeMessage {
  id: string;
  channel_id: string;
  guild_id?: string;
  author: FakeUser;
  content: string;
  flags: number;
  components: unknown[];
  embeds: unknown[];
  attachments: FakeAttachment[];
  /** emoji key ("1️⃣" or "name:id") -> user ids that reacted. */
  reactions: Map<string, Set<string>>;
  timestamp: string;
  edited_timestamp: string | null;
  /** Interaction that produced it, when it is an interaction reply or follow-up. */
  interaction?: { id: string; token: string; userId: string };
}

export interface RegisteredCommand {
  id: string;
  application_id: string;
  guild_id?: string;
  name: string;
  description: string;
  type: number;
  options?: CommandOptionDef[];
  [key: string]: unknown;
}
interface CommandOptionDef {
  name: string;
  type: number;
  options?: CommandOptionDef[];
  [key: string]: unknown;
}

export interface RecordedFile {
  field: string;
  filename: string;
  contentType: string;
  data: Buffer;
}

export interface RecordedRequest {
  seq: number;
  method: string;
  /** Decoded path without the /api/v10 prefix, e.g. `/interactions/1/tok/callback`. */
  route: string;
  rawPath: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  /** JSON body, or the multipart `payload_json`. */
  body?: any;
  files: RecordedFile[];
  status: number;
  at: number;
}

export interface GatewayRecord {
  seq: number;
  dir: 'in' | 'out';
  op: number;
  t?: string | null;
  d?: any;
  sessionId?: string;
  at: number;
}

export interface FakeGuildInit {
  id?: string;
  name?: string;
  channelIds?: string[];
  ownerId?: string;
}
interface FakeGuild {
  id: string;
  name: string;
  channels: { id: string; name: string }[];
  ownerId: string;
}

export interface FakeDiscordOptions {
  /** Bot token the fake accepts (IDENTIFY and REST Authorization). */
  token?: string;
  port?: number;
  applicationId?: string;
  botUser?: Partial<FakeUser>;
  guilds?: FakeGuildInit[];
  heartbeatIntervalMs?: number;
  /** The `shards` count GET /gateway/bot recommends (default 1). */
  recommendedShards?: number;
  /** Called with a one-line description of each request/event (for demos). */
  onLog?: (line: string) => void;
  /** Who owns the application (GET /applications/@me): a user id, or a team (tests may change `application` later). */
  application?: FakeApplicationOwner;
}

/** A team member as Discord describes it: role admin|developer|read_only, membership 1 = invited, 2 = accepted. */
export interface FakeTeamMember {
  id: string;
  role?: 'admin' | 'developer' | 'read_only';
  membershipState?: 1 | 2;
}

/** The application's owner: a user, or a team (`ownerId` is the team's owner); `fail` makes the fetch answer 403. */
export interface FakeApplicationOwner {
  ownerId?: string;
  team?: { ownerId: string; members: FakeTeamMember[] };
  fail?: boolean;
}

export interface FakeInteraction {
  id: string;
  token: string;
  type: number;
  userId: string;
  channelId: string;
  guildId?: string;
  payload: any;
}

/** What a user sees after the bot answered an interaction. */
export interface InteractionReply {
  callbackType: number;
  ephemeral: boolean;
  message: FakeMessage;
}

interface Session {
  id: string;
  intents: number;
  seq: number;
  ws?: WebSocket;
  /** Dispatches with their sequence numbers, kept for RESUME. */
  history: { s: number; frame: string }[];
  shard: [number, number];
}

interface Waiter<T> {
  pred: (x: T) => boolean;
  resolve: (x: T) => void;
}

/** The shard Discord delivers a guild's events to: (guild_id >> 22) % shard_count. */
export function shardOf(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

/** A fresh snowflake whose guild would land on `shard` of `shardCount` (for test guilds). */
export function guildIdOnShard(shard: number, shardCount: number): string {
  for (;;) {
    const id = snowflake();
    const ms = BigInt(id) >> 22n;
    // Move the timestamp part to the next value with the wanted remainder.
    const delta = (BigInt(shard) - (ms % BigInt(shardCount)) + BigInt(shardCount)) % BigInt(shardCount);
    const out = ((ms + delta) << 22n) | (BigInt(id) & 0x3fffffn);
    if (shardOf(out.toString(), shardCount) === shard) return out.toString();
  }
}

// Snowflakes: increasing, 18-19 digits like Discord's.
let snowflakeCounter = 0n;
export function snowflake(): string {
  const ms = BigInt(Date.now() - 1420070400000);
  snowflakeCounter = (snowflakeCounter + 1n) & 0xfffn;
  return ((ms << 22n) | (1n << 17n) | snowflakeCounter).toString();
}

function userPayload(u: FakeUser) {
  return {
    id: u.id,
    username: u.username,
    discriminator: '0',
    global_name: u.bot ? null : u.username,
    avatar: null,
    bot: u.bot ?? false,
    flags: 0,
    public_flags: 0,
  };
}

export class FakeDiscord {
  readonly token: string;
  readonly applicationId: string;
  readonly botUser: FakeUser;
  readonly guilds: FakeGuild[];
  readonly users = new Map<string, FakeUser>();
  readonly messages = new Map<string, FakeMessage>();
  readonly commands = { global: [] as RegisteredCommand[], guild: new Map<string, RegisteredCommand[]>() };
  readonly requests: RecordedRequest[] = [];
  readonly gatewayLog: GatewayRecord[] = [];
  readonly interactions = new Map<string, FakeInteraction>();
  /** Responses per interaction token, in arrival order. */
  readonly replies = new Map<string, InteractionReply[]>();
  /** Number of IDENTIFY and RESUME frames accepted. */
  identifyCount = 0;
  resumeCount = 0;
  /** Answer every `every`-th GET of a reaction's users with a 429 (tests of rate-limit handling); off when unset. */
  reactionReadLimit: { every: number; retryAfterSeconds: number } | undefined;
  private reactionReads = 0;

  private http!: http.Server;
  private wss!: WebSocketServer;
  private sessions = new Map<string, Session>();
  private sockets = new Set<WebSocket>();
  private requestWaiters: Waiter<RecordedRequest>[] = [];
  private gatewayWaiters: Waiter<GatewayRecord>[] = [];
  private replyWaiters: Waiter<{ token: string; reply: InteractionReply }>[] = [];
  private port = 0;
  private readonly heartbeatIntervalMs: number;
  /** What GET /gateway/bot recommends as `shards` (tests may change it). */
  recommendedShards: number;
  private readonly onLog?: (line: string) => void;
  /** Served by GET /applications/@me; tests may change it before the bot starts. */
  application: FakeApplicationOwner;
  private closed = false;

  private constructor(opts: FakeDiscordOptions) {
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
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 41_250;
    this.recommendedShards = opts.recommendedShards ?? 1;
    this.onLog = opts.onLog;
    this.application = opts.application ?? {};
  }

  /** Starts a fake on 127.0.0.1 (random port unless `port` is given). */
  static async start(opts: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    const fake = new FakeDiscord(opts);
    await fake.listen(opts.port ?? 0);
    return fake;
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

  // ------------------------------------------------------------------ lifecycle
  private listen(port: number): Promise<void> {
    this.http = http.createServer((req, res) => {
      this.handleHttp(req, res).catch((err) => {
        this.log(`REST handler error: ${(err as Error).stack}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'fake discord internal error', code: 0 }));
      });
    });
    this.wss = new WebSocketServer({ server: this.http });
    this.wss.on('connection', (ws) => this.handleSocket(ws));
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, '127.0.0.1', () => {
        this.port = (this.http.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** Closes every socket and the HTTP server. Destroy the client first (see README). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ws of this.sockets) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private log(line: string): void {
    this.onLog?.(line);
  }

  // ------------------------------------------------------------------ gateway
  private sendFrame(
    ws: WebSocket | undefined,
    payload: { op: number; d: unknown; s?: number | null; t?: string | null },
    sessionId?: string,
  ): void {
    this.recordGateway({ dir: 'out', op: payload.op, t: payload.t ?? null, d: payload.d, sessionId });
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ s: null, t: null, ...payload }));
  }

  private handleSocket(ws: WebSocket): void {
    this.sockets.add(ws);
    let session: Session | undefined;
    ws.on('close', () => {
      this.sockets.delete(ws);
      if (session?.ws === ws) session.ws = undefined;
    });
    ws.on('error', () => {});
    ws.on('message', (raw) => {
      let frame: any;
      try {
        frame = JSON.parse(raw.toString());
      } catch {
        ws.close(4002, 'Decode error');
        return;
      }
      this.recordGateway({
        dir: 'in',
        op: frame.op,
        d: frame.op === 2 || frame.op === 6 ? { ...frame.d, token: '[token]' } : frame.d,
        sessionId: session?.id,
      });
      switch (frame.op) {
        case 1: // heartbeat
          this.sendFrame(ws, { op: 11, d: null }, session?.id);
          break;
        case 2: {
          // IDENTIFY
          if (frame.d?.token !== this.token) {
            ws.close(4004, 'Authentication failed.');
            return;
          }
          const shard = frame.d.shard ?? [0, 1];
          if (
            !Array.isArray(shard) ||
            shard.length !== 2 ||
            !shard.every(Number.isInteger) ||
            shard[1] < 1 ||
            shard[0] < 0 ||
            shard[0] >= shard[1]
          ) {
            ws.close(4010, 'Invalid shard.');
            return;
          }
          this.identifyCount++;
          session = {
            id: randomBytes(16).toString('hex'),
            intents: Number(frame.d.intents ?? 0),
            seq: 0,
            ws,
            history: [],
            shard: [shard[0], shard[1]],
          };
          this.sessions.set(session.id, session);
          this.log(`gateway: IDENTIFY (intents ${session.intents}, shard ${session.shard.join('/')})`);
          const mine = this.guilds.filter((g) => this.onShard(session!, g.id));
          this.dispatchTo(session, 'READY', {
            v: 10,
            user: { ...userPayload(this.botUser), verified: true, mfa_enabled: false },
            guilds: mine.map((g) => ({ id: g.id, unavailable: true })),
            session_id: session.id,
            resume_gateway_url: this.gatewayUrl,
            shard: session.shard,
            application: { id: this.applicationId, flags: 0 },
            private_channels: [],
            relationships: [],
            user_settings: {},
            presences: [],
            guild_join_requests: [],
            geo_ordered_rtc_regions: [],
          });
          for (const g of mine) this.dispatchTo(session, 'GUILD_CREATE', this.guildPayload(g));
          break;
        }
        case 6: {
          // RESUME
          const s = this.sessions.get(frame.d?.session_id);
          if (!s || frame.d?.token !== this.token) {
            this.sendFrame(ws, { op: 9, d: false });
            return;
          }
          this.resumeCount++;
          session = s;
          if (s.ws && s.ws !== ws) s.ws.terminate();
          s.ws = ws;
          const from = Number(frame.d.seq ?? 0);
          this.log(`gateway: RESUME from seq ${from}`);
          for (const h of s.history) if (h.s > from && ws.readyState === WebSocket.OPEN) ws.send(h.frame);
          this.dispatchTo(s, 'RESUMED', {});
          break;
        }
        default:
          // presence/voice updates etc.: accepted and ignored
          break;
      }
    });
    this.sendFrame(ws, { op: 10, d: { heartbeat_interval: this.heartbeatIntervalMs } });
  }

  private dispatchTo(session: Session, t: string, d: unknown): void {
    session.seq += 1;
    const payload = { op: 0, t, s: session.seq, d };
    const frame = JSON.stringify(payload);
    session.history.push({ s: session.seq, frame });
    if (session.history.length > 1000) session.history.shift();
    this.recordGateway({ dir: 'out', op: 0, t, d, sessionId: session.id });
    if (session.ws && session.ws.readyState === WebSocket.OPEN) session.ws.send(frame);
  }

  /**
   * Sends a dispatch event to every session whose intents allow it and whose
   * shard serves the event's guild (as Discord does: guild events go to shard
   * (guild_id >> 22) % count, events without a guild to shard 0). Events for
   * a disconnected session are kept for its RESUME. Returns how many sessions
   * it was queued for.
   */
  dispatch(t: string, d: unknown): number {
    const need = EVENT_INTENT[t];
    const body = d as { guild_id?: unknown; id?: unknown } | null;
    const guildId =
      typeof body?.guild_id === 'string'
        ? body.guild_id
        : t.startsWith('GUILD_') && typeof body?.id === 'string'
          ? body.id
          : undefined;
    let n = 0;
    for (const s of this.sessions.values()) {
      if (need !== undefined && (s.intents & need) === 0) continue;
      if (!this.onShard(s, guildId)) continue;
      this.dispatchTo(s, t, d);
      n++;
    }
    return n;
  }

  /** Whether a session's shard receives events of `guildId` (no guild: shard 0 only). */
  private onShard(s: Session, guildId: string | undefined): boolean {
    const [id, count] = s.shard;
    return guildId === undefined ? id === 0 : shardOf(guildId, count) === id;
  }

  /**
   * Drops every gateway connection (or only those of shard `shard`). `code`
   * 4000 (default) is resumable: the client reconnects and RESUMEs.
   * `invalidate` also forgets the sessions so the client must IDENTIFY
   * again. `abrupt` terminates without a close frame.
   */
  dropConnections(opts: { code?: number; invalidate?: boolean; abrupt?: boolean; shard?: number } = {}): void {
    for (const [key, s] of this.sessions) {
      if (opts.shard !== undefined && s.shard[0] !== opts.shard) continue;
      const ws = s.ws;
      s.ws = undefined;
      if (opts.invalidate) this.sessions.delete(key);
      if (!ws) continue;
      if (opts.abrupt) ws.terminate();
      else ws.close(opts.code ?? 4000, 'fake: dropped');
    }
  }

  /** Sessions by shard: which shards have identified, and whether their socket is open. */
  shardSessions(): { sessionId: string; shard: [number, number]; connected: boolean }[] {
    return [...this.sessions.values()].map((s) => ({
      sessionId: s.id,
      shard: s.shard,
      connected: s.ws?.readyState === WebSocket.OPEN,
    }));
  }

  /** Number of sessions with an open socket. */
  get connectedSessions(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.ws?.readyState === WebSocket.OPEN) n++;
    return n;
  }

  private guildPayload(g: FakeGuild) {
    return {
      id: g.id,
      name: g.name,
      icon: null,
      owner_id: g.ownerId,
      unavailable: false,
      large: false,
      member_count: this.users.size,
      joined_at: new Date().toISOString(),
      features: [],
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      mfa_level: 0,
      nsfw_level: 0,
      premium_tier: 0,
      preferred_locale: 'en-US',
      system_channel_flags: 0,
      roles: [
        {
          id: g.id,
          name: '@everyone',
          permissions: '2251799813685247',
          position: 0,
          color: 0,
          hoist: false,
          managed: false,
          mentionable: false,
          flags: 0,
        },
      ],
      emojis: [],
      stickers: [],
      channels: g.channels.map((c, i) => ({
        id: c.id,
        type: 0,
        name: c.name,
        guild_id: g.id,
        position: i,
        permission_overwrites: [],
        nsfw: false,
        parent_id: null,
      })),
      threads: [],
      members: [
        {
          user: userPayload(this.botUser),
          roles: [],
          joined_at: new Date().toISOString(),
          deaf: false,
          mute: false,
          flags: 0,
        },
      ],
      presences: [],
      voice_states: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  private recordGateway(r: Omit<GatewayRecord, 'seq' | 'at'>): void {
    const rec: GatewayRecord = { ...r, seq: this.gatewayLog.length, at: Date.now() };
    this.gatewayLog.push(rec);
    this.notify(this.gatewayWaiters, rec);
  }

  // ------------------------------------------------------------------ waiting
  private notify<T>(list: Waiter<T>[], x: T): void {
    for (const w of [...list]) {
      if (w.pred(x)) {
        list.splice(list.indexOf(w), 1);
        w.resolve(x);
      }
    }
  }

  private wait<T>(
    list: Waiter<T>[],
    existing: T[],
    pred: (x: T) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<T> {
    const found = existing.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const w: Waiter<T> = {
        pred,
        resolve: (x) => {
          clearTimeout(timer);
          resolve(x);
        },
      };
      const timer = setTimeout(() => {
        const i = list.indexOf(w);
        if (i >= 0) list.splice(i, 1);
        reject(new Error(`fake discord: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      list.push(w);
    });
  }

  /** Sequence number to pass as `since` so a wait only considers later requests. */
  mark(): number {
    return this.requests.length;
  }

  /** Resolves with the first recorded REST request (at or after `since`) matching `pred`. */
  waitForRequest(
    pred: (r: RecordedRequest) => boolean,
    opts: { since?: number; timeoutMs?: number } = {},
  ): Promise<RecordedRequest> {
    const since = opts.since ?? 0;
    return this.wait(
      this.requestWaiters,
      this.requests.slice(since),
      (r) => r.seq >= since && pred(r),
      opts.timeoutMs ?? 10_000,
      'a REST request',
    );
  }

  /** Alias of waitForRequest: `await fake.waitFor((r) => r.method === 'PUT' && …)`. */
  waitFor(
    pred: (r: RecordedRequest) => boolean,
    opts: { since?: number; timeoutMs?: number } = {},
  ): Promise<RecordedRequest> {
    return this.waitForRequest(pred, opts);
  }

  /** Resolves with the first gateway frame (at or after `since`) matching `pred`. */
  waitForGateway(
    pred: (r: GatewayRecord) => boolean,
    opts: { since?: number; timeoutMs?: number } = {},
  ): Promise<GatewayRecord> {
    const since = opts.since ?? 0;
    return this.wait(
      this.gatewayWaiters,
      this.gatewayLog.slice(since),
      (r) => r.seq >= since && pred(r),
      opts.timeoutMs ?? 10_000,
      'a gateway frame',
    );
  }

  /**
   * Resolves with the bot's answer to an interaction: a message reply, or the
   * first edit of a deferred reply (loading state skipped). Acknowledgements
   * without content (defer) are not answers.
   */
  async waitForReply(
    interaction: FakeInteraction | string,
    opts: { timeoutMs?: number; index?: number } = {},
  ): Promise<InteractionReply> {
    const token = typeof interaction === 'string' ? interaction : interaction.token;
    const index = opts.index ?? 0;
    const final = (r: InteractionReply) => (r.message.flags & FLAG_LOADING) === 0;
    const existing = (this.replies.get(token) ?? []).filter(final);
    if (existing.length > index) return existing[index];
    const seen = existing.length;
    let count = seen;
    const got = await this.wait(
      this.replyWaiters,
      [],
      (x) => x.token === token && final(x.reply) && count++ === index,
      opts.timeoutMs ?? 15_000,
      `reply #${index} to interaction ${token.slice(0, 8)}`,
    );
    return got.reply;
  }

  private pushReply(token: string, reply: InteractionReply): void {
    const list = this.replies.get(token) ?? [];
    // Snapshot so later edits don't rewrite what the test already saw.
    const snap: InteractionReply = {
      ...reply,
      message: {
        ...reply.message,
        attachments: [...reply.message.attachments],
        reactions: new Map(reply.message.reactions),
      },
    };
    list.push(snap);
    this.replies.set(token, list);
    this.notify(this.replyWaiters, { token, reply: snap });
  }

  /** `owner` and `team` of GET /applications/@me, as Discord sends them (a team-owned app's owner is a team pseudo-user). */
  private applicationOwnerPayload() {
    const { ownerId, team } = this.application;
    if (team) {
      const teamId = snowflake();
      return {
        owner: { id: teamId, username: `team${teamId}`, discriminator: '0000', avatar: null, flags: 1024 },
        team: {
          id: teamId,
          name: 'Fake Team',
          icon: null,
          owner_user_id: team.ownerId,
          members: team.members.map((m) => ({
            team_id: teamId,
            user: userPayload(this.user(m.id)),
            role: m.role ?? 'admin',
            membership_state: m.membershipState ?? 2,
            permissions: ['*'],
          })),
        },
      };
    }
    return ownerId ? { owner: userPayload(this.user(ownerId)), team: null } : {};
  }

  // ------------------------------------------------------------------ user actions
  private memberPayload(u: FakeUser) {
    return {
      user: userPayload(u),
      roles: [],
      permissions: u.permissions ?? MEMBER_PERMISSIONS,
      joined_at: new Date().toISOString(),
      premium_since: null,
      deaf: false,
      mute: false,
      pending: false,
      nick: null,
      avatar: null,
      flags: 0,
      communication_disabled_until: null,
    };
  }

  private baseInteraction(type: number, user: FakeUser, guildId: string | undefined, channelId: string) {
    const id = snowflake();
    const token = `itok_${randomBytes(24).toString('hex')}`;
    const payload: any = {
      id,
      application_id: this.applicationId,
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
      payload.member = this.memberPayload(user);
    } else {
      payload.user = userPayload(user);
    }
    return payload;
  }

  private findCommand(name: string, guildId?: string): RegisteredCommand | undefined {
    return (
      (guildId ? this.commands.guild.get(guildId)?.find((c) => c.name === name) : undefined) ??
      this.commands.global.find((c) => c.name === name)
    );
  }

  /**
   * A member runs a slash command. Option types come from the registered
   * command (so discord.js resolves them); values are sent as given, not
   * coerced or range-checked, so tests can send bad input.
   */
  sendCommand(opts: {
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
  }): FakeInteraction {
    const user =
      typeof opts.user === 'string' ? this.user(opts.user) : (opts.user ?? this.user('100000000000000001', 'alice'));
    const guildId = opts.guildId === null ? undefined : (opts.guildId ?? this.guild.id);
    const channelId = opts.channelId ?? this.channelId;
    const cmd = this.findCommand(opts.name, guildId);
    const typeOf = (defs: CommandOptionDef[] | undefined, key: string, value: unknown): number => {
      const forced = opts.optionTypes?.[key];
      if (forced !== undefined) return forced;
      const def = defs?.find((o) => o.name === key);
      if (def) return def.type;
      return typeof value === 'number'
        ? Number.isInteger(value)
          ? OptionType.Integer
          : OptionType.Number
        : typeof value === 'boolean'
          ? OptionType.Boolean
          : OptionType.String;
    };
    const leaf = (defs: CommandOptionDef[] | undefined) =>
      Object.entries(opts.options ?? {}).map(([name, value]) => ({
        name,
        type: typeOf(defs, name, value),
        value,
        ...(name === opts.focused ? { focused: true } : {}),
      }));
    let options: unknown[];
    if (opts.subcommand) {
      const sub = cmd?.options?.find((o) => o.name === opts.subcommand);
      options = [{ name: opts.subcommand, type: OptionType.Subcommand, options: leaf(sub?.options) }];
    } else {
      options = leaf(cmd?.options);
    }
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
    return this.deliverInteraction(payload, user, guildId, channelId);
  }

  /** A member presses a button on a message (by custom_id). */
  pressButton(opts: { message: FakeMessage | string; customId: string; user?: FakeUser | string }): FakeInteraction {
    const msg = typeof opts.message === 'string' ? this.messages.get(opts.message) : opts.message;
    if (!msg) throw new Error(`fake discord: no message ${String(opts.message)}`);
    const user =
      typeof opts.user === 'string' ? this.user(opts.user) : (opts.user ?? this.user('100000000000000001', 'alice'));
    const payload = this.baseInteraction(InteractionType.MessageComponent, user, msg.guild_id, msg.channel_id);
    payload.message = this.messagePayload(msg);
    payload.data = { custom_id: opts.customId, component_type: 2 };
    return this.deliverInteraction(payload, user, msg.guild_id, msg.channel_id);
  }

  /** A member uses a context-menu command (`target` 'user': on a user; 'message': on a message of the channel). */
  sendContextMenu(opts: {
    name: string;
    target: 'user' | 'message';
    targetId: string;
    user?: FakeUser | string;
  }): FakeInteraction {
    const user =
      typeof opts.user === 'string' ? this.user(opts.user) : (opts.user ?? this.user('100000000000000001', 'alice'));
    const msg = opts.target === 'message' ? this.messages.get(opts.targetId) : undefined;
    if (opts.target === 'message' && !msg) throw new Error(`fake discord: no message ${opts.targetId}`);
    const guildId = msg?.guild_id ?? this.guild.id;
    const channelId = msg?.channel_id ?? this.channelId;
    const payload = this.baseInteraction(InteractionType.ApplicationCommand, user, guildId, channelId);
    const resolved = msg
      ? { messages: { [msg.id]: this.messagePayload(msg) } }
      : { users: { [opts.targetId]: userPayload(this.user(opts.targetId)) } };
    payload.data = {
      id: snowflake(),
      name: opts.name,
      type: opts.target === 'user' ? 2 : 3,
      target_id: opts.targetId,
      resolved,
    };
    return this.deliverInteraction(payload, user, guildId, channelId);
  }

  /** A member picks `values` in a string select menu on a message. */
  chooseInSelectMenu(opts: {
    message: FakeMessage | string;
    customId: string;
    values: string[];
    user?: FakeUser | string;
  }): FakeInteraction {
    const msg = typeof opts.message === 'string' ? this.messages.get(opts.message) : opts.message;
    if (!msg) throw new Error(`fake discord: no message ${String(opts.message)}`);
    const user =
      typeof opts.user === 'string' ? this.user(opts.user) : (opts.user ?? this.user('100000000000000001', 'alice'));
    const payload = this.baseInteraction(InteractionType.MessageComponent, user, msg.guild_id, msg.channel_id);
    payload.message = this.messagePayload(msg);
    payload.data = { custom_id: opts.customId, component_type: 3, values: opts.values };
    return this.deliverInteraction(payload, user, msg.guild_id, msg.channel_id);
  }

  /** A member submits a modal (`fields`: text input custom_id -> value). */
  submitModal(opts: { customId: string; fields?: Record<string, string>; user?: FakeUser | string }): FakeInteraction {
    const user =
      typeof opts.user === 'string' ? this.user(opts.user) : (opts.user ?? this.user('100000000000000001', 'alice'));
    const payload = this.baseInteraction(5, user, this.guild.id, this.channelId);
    const rows = Object.entries(opts.fields ?? {}).map(([id, value]) => ({
      type: 1,
      components: [{ type: 4, custom_id: id, value }],
    }));
    payload.data = { custom_id: opts.customId, components: rows };
    return this.deliverInteraction(payload, user, this.guild.id, this.channelId);
  }

  private deliverInteraction(
    payload: any,
    user: FakeUser,
    guildId: string | undefined,
    channelId: string,
  ): FakeInteraction {
    const it: FakeInteraction = {
      id: payload.id,
      token: payload.token,
      type: payload.type,
      userId: user.id,
      channelId,
      guildId,
      payload,
    };
    this.interactions.set(it.token, it);
    this.log(
      `interaction ${payload.type === 2 || payload.type === 4 ? '/' + payload.data.name : (payload.type === 5 ? 'modal ' : 'component ') + payload.data.custom_id} by ${user.username}`,
    );
    this.dispatch('INTERACTION_CREATE', payload);
    return it;
  }

  private emojiPayload(emoji: string) {
    const m = /^(?:a:)?([\w~]+):(\d+)$/.exec(emoji);
    return m ? { id: m[2], name: m[1], animated: emoji.startsWith('a:') } : { id: null, name: emoji };
  }

  /**
   * A user adds a reaction. The message need not be known to the fake (a
   * message from "before a restart"); then `channelId` defaults to the
   * default channel. Set `record: false` to replay an event without changing
   * the fake's state (duplicate delivery).
   */
  addReaction(opts: {
    messageId: string;
    emoji: string;
    user?: FakeUser | string;
    channelId?: string;
    guildId?: string;
    record?: boolean;
  }): void {
    const user =
      typeof opts.user === 'string' ? this.user(opts.user) : (opts.user ?? this.user('100000000000000001', 'alice'));
    const msg = this.messages.get(opts.messageId);
    const channelId = opts.channelId ?? msg?.channel_id ?? this.channelId;
    const guildId = opts.guildId ?? msg?.guild_id ?? this.guild.id;
    if (msg && opts.record !== false) {
      const set = msg.reactions.get(opts.emoji) ?? new Set<string>();
      set.add(user.id);
      msg.reactions.set(opts.emoji, set);
    }
    this.dispatch('MESSAGE_REACTION_ADD', {
      user_id: user.id,
      channel_id: channelId,
      message_id: opts.messageId,
      guild_id: guildId,
      member: this.memberPayload(user),
      emoji: this.emojiPayload(opts.emoji),
      message_author_id: msg?.author.id,
      burst: false,
      burst_colors: [],
      type: 0,
    });
  }

  /** A user removes a reaction. */
  removeReaction(opts: {
    messageId: string;
    emoji: string;
    user?: FakeUser | string;
    channelId?: string;
    guildId?: string;
  }): void {
    const user =
      typeof opts.user === 'string' ? this.user(opts.user) : (opts.user ?? this.user('100000000000000001', 'alice'));
    const msg = this.messages.get(opts.messageId);
    msg?.reactions.get(opts.emoji)?.delete(user.id);
    this.dispatch('MESSAGE_REACTION_REMOVE', {
      user_id: user.id,
      channel_id: opts.channelId ?? msg?.channel_id ?? this.channelId,
      message_id: opts.messageId,
      guild_id: opts.guildId ?? msg?.guild_id ?? this.guild.id,
      emoji: this.emojiPayload(opts.emoji),
      burst: false,
      type: 0,
    });
  }

  // ------------------------------------------------------------------ messages
  /** API shape of a stored message. */
  messagePayload(m: FakeMessage) {
    const reactions = [...m.reactions.entries()]
      .filter(([, users]) => users.size > 0)
      .map(([emoji, users]) => ({
        emoji: this.emojiPayload(emoji),
        count: users.size,
        count_details: { burst: 0, normal: users.size },
        me: users.has(this.botUser.id),
        me_burst: false,
        burst_colors: [],
      }));
    return {
      id: m.id,
      type: m.interaction ? 20 : 0,
      channel_id: m.channel_id,
      guild_id: m.guild_id,
      author: userPayload(m.author),
      content: m.content,
      timestamp: m.timestamp,
      edited_timestamp: m.edited_timestamp,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: m.attachments.map(({ data: _data, ...a }) => a),
      embeds: m.embeds,
      components: m.components,
      reactions,
      pinned: false,
      flags: m.flags,
      webhook_id: m.interaction ? this.applicationId : undefined,
      application_id: m.interaction ? this.applicationId : undefined,
      ...(m.interaction
        ? {
            interaction_metadata: {
              id: m.interaction.id,
              type: 2,
              user: userPayload(this.user(m.interaction.userId)),
              authorizing_integration_owners: {},
            },
          }
        : {}),
    };
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

  private applyMessageBody(m: FakeMessage, body: any, files: RecordedFile[], replaceAttachments: boolean): void {
    if (!body) body = {};
    if (typeof body.content === 'string') m.content = body.content;
    if (Array.isArray(body.components)) m.components = body.components;
    if (Array.isArray(body.embeds)) m.embeds = body.embeds;
    if (typeof body.flags === 'number') m.flags = (m.flags & FLAG_EPHEMERAL) | (body.flags & ~FLAG_LOADING);
    const uploaded = files.map((f, i) => ({ f, i }));
    const newAttachment = (f: RecordedFile, filename?: string): FakeAttachment => {
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
    };
    if (Array.isArray(body.attachments)) {
      // Discord semantics: the list names attachments to keep (existing ids)
      // and new uploads (id = index into files[n]).
      const kept: FakeAttachment[] = [];
      for (const a of body.attachments) {
        const existing = m.attachments.find((x) => x.id === String(a.id));
        if (existing) kept.push(existing);
        else {
          const up = uploaded.find(({ f }) => f.field === `files[${a.id}]`);
          if (up) kept.push(newAttachment(up.f, a.filename));
        }
      }
      m.attachments = kept;
    } else if (files.length) {
      const added = files.map((f) => newAttachment(f));
      m.attachments = replaceAttachments ? added : [...m.attachments, ...added];
    }
  }

  private createMessage(
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

  /** The bot's original reply to an interaction, if any. */
  originalMessage(token: string): FakeMessage | undefined {
    return [...this.messages.values()].find((m) => m.interaction?.token === token && (m as any).original);
  }

  // ------------------------------------------------------------------ REST
  private async readBody(req: http.IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  private async parseBody(req: http.IncomingMessage, raw: Buffer): Promise<{ body?: any; files: RecordedFile[] }> {
    const type = req.headers['content-type'] ?? '';
    if (!raw.length) return { files: [] };
    if (type.startsWith('application/json')) return { body: JSON.parse(raw.toString('utf8')), files: [] };
    if (type.startsWith('multipart/form-data')) {
      const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
      const files: RecordedFile[] = [];
      let body: any;
      for (const [field, value] of form.entries()) {
        if (field === 'payload_json') body = JSON.parse(String(value));
        else if (typeof value !== 'string') {
          files.push({
            field,
            filename: value.name,
            contentType: value.type || 'application/octet-stream',
            data: Buffer.from(await value.arrayBuffer()),
          });
        }
      }
      return { body, files };
    }
    return { body: raw.toString('utf8'), files: [] };
  }

  private async handleHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const raw = await this.readBody(req);

    // Non-API conveniences: attachment bytes and a tiny HTML viewer for demos.
    if (!url.pathname.startsWith('/api/')) return this.serveExtras(url, res);

    const route = decodeURIComponent(url.pathname.replace(/^\/api(\/v\d+)?/, ''));
    const { body, files } = await this.parseBody(req, raw);
    const rec: RecordedRequest = {
      seq: this.requests.length,
      method: req.method ?? 'GET',
      route,
      rawPath: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body,
      files,
      status: 0,
      at: Date.now(),
    };
    const send = (status: number, json?: unknown, headers: Record<string, string> = {}) => {
      rec.status = status;
      if (json === undefined) {
        res.writeHead(status, headers);
        res.end();
      } else {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(json));
      }
      this.requests.push(rec);
      this.log(`${rec.method} ${route} -> ${status}`);
      this.notify(this.requestWaiters, rec);
    };
    const notFound = (code = 0, message = '404: Not Found') => send(404, { message, code });

    // Interaction and webhook routes carry no Authorization header; everything else must.
    const unauthenticated = /^\/(interactions|webhooks)\//.test(route);
    if (!unauthenticated) {
      if (req.headers.authorization !== `Bot ${this.token}`)
        return send(401, { message: '401: Unauthorized', code: 0 });
    }

    const m = (re: RegExp) => re.exec(route);
    let g: RegExpExecArray | null;
    const method = rec.method;

    if (method === 'GET' && (route === '/gateway/bot' || route === '/gateway')) {
      return send(200, {
        url: this.gatewayUrl,
        shards: this.recommendedShards,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 1 },
      });
    }
    if (method === 'GET' && route === '/users/@me') return send(200, userPayload(this.botUser));
    if (method === 'GET' && (g = m(/^\/users\/(\d+)$/))) {
      const u = this.users.get(g[1]);
      return u ? send(200, userPayload(u)) : notFound(10013, 'Unknown User');
    }
    if (method === 'GET' && (route === '/applications/@me' || route === `/oauth2/applications/@me`)) {
      if (this.application.fail) return send(403, { message: 'Missing Access', code: 50001 });
      return send(200, {
        id: this.applicationId,
        name: this.botUser.username,
        flags: 0,
        bot: userPayload(this.botUser),
        description: '',
        icon: null,
        ...this.applicationOwnerPayload(),
      });
    }

    // Command registration
    if ((g = m(/^\/applications\/(\d+)\/(?:guilds\/(\d+)\/)?commands$/))) {
      if (g[1] !== this.applicationId) return notFound(10002, 'Unknown Application');
      const guildId = g[2];
      const current = () => (guildId ? (this.commands.guild.get(guildId) ?? []) : this.commands.global);
      if (method === 'GET') return send(200, current());
      if (method === 'PUT') {
        if (!Array.isArray(body)) return send(400, { message: 'Invalid Form Body', code: 50035 });
        const list: RegisteredCommand[] = body.map((c: any) => {
          const prev = current().find((p) => p.name === c.name);
          return {
            ...c,
            id: prev?.id ?? snowflake(),
            application_id: this.applicationId,
            type: c.type ?? 1,
            version: snowflake(),
            ...(guildId ? { guild_id: guildId } : {}),
          };
        });
        if (guildId) this.commands.guild.set(guildId, list);
        else this.commands.global = list;
        return send(200, list);
      }
      if (method === 'POST') {
        const cmd: RegisteredCommand = {
          ...body,
          id: snowflake(),
          application_id: this.applicationId,
          type: body?.type ?? 1,
        };
        const list = current()
          .filter((c) => c.name !== cmd.name)
          .concat(cmd);
        if (guildId) this.commands.guild.set(guildId, list);
        else this.commands.global = list;
        return send(201, cmd);
      }
    }

    // Interaction callback
    if (method === 'POST' && (g = m(/^\/interactions\/(\d+)\/([^/]+)\/callback$/))) {
      const it = this.interactions.get(g[2]);
      if (!it || it.id !== g[1]) return notFound(10062, 'Unknown interaction');
      if ((it as any).acked) return send(400, { message: 'Interaction has already been acknowledged.', code: 40060 });
      (it as any).acked = true;
      const type = body?.type;
      const data = body?.data ?? {};
      let msg: FakeMessage | undefined;
      if (type === CallbackType.ChannelMessageWithSource || type === CallbackType.DeferredChannelMessageWithSource) {
        msg = this.createMessage(it.channelId, it.guildId, this.botUser, {
          id: it.id,
          token: it.token,
          userId: it.userId,
        });
        (msg as any).original = true;
        if ((data.flags ?? 0) & FLAG_EPHEMERAL) msg.flags |= FLAG_EPHEMERAL;
        if (type === CallbackType.DeferredChannelMessageWithSource) msg.flags |= FLAG_LOADING;
        else this.applyMessageBody(msg, data, files, true);
      } else if (type === CallbackType.UpdateMessage || type === CallbackType.DeferredMessageUpdate) {
        msg = this.messages.get(it.payload.message?.id);
        if (msg && type === CallbackType.UpdateMessage) {
          this.applyMessageBody(msg, data, files, false);
          msg.edited_timestamp = new Date().toISOString();
        }
      } else if (type !== 1 && type !== 8 && type !== 9) {
        return send(400, { message: `fake: unsupported callback type ${type}`, code: 50035 });
      }
      if (msg && type !== CallbackType.DeferredMessageUpdate) {
        this.pushReply(it.token, { callbackType: type, ephemeral: (msg.flags & FLAG_EPHEMERAL) !== 0, message: msg });
      }
      if (rec.query.with_response === 'true') {
        return send(200, {
          interaction: {
            id: it.id,
            type: it.type,
            activity_instance_id: null,
            response_message_id: msg?.id ?? null,
            response_message_loading: type === 5,
            response_message_ephemeral: msg ? (msg.flags & FLAG_EPHEMERAL) !== 0 : false,
          },
          resource: msg ? { type, message: this.messagePayload(msg) } : { type },
        });
      }
      return send(204);
    }

    // Webhook (interaction follow-ups and edits)
    if ((g = m(/^\/webhooks\/(\d+)\/([^/]+)(?:\/messages\/([^/]+))?$/))) {
      const [, appId, token, which] = g;
      const it = this.interactions.get(token);
      if (appId !== this.applicationId || !it) return notFound(10015, 'Unknown Webhook');
      if (!which && method === 'POST') {
        const msg = this.createMessage(it.channelId, it.guildId, this.botUser, {
          id: it.id,
          token: it.token,
          userId: it.userId,
        });
        if ((body?.flags ?? 0) & FLAG_EPHEMERAL) msg.flags |= FLAG_EPHEMERAL;
        this.applyMessageBody(msg, body, files, true);
        this.pushReply(it.token, { callbackType: 0, ephemeral: (msg.flags & FLAG_EPHEMERAL) !== 0, message: msg });
        return rec.query.wait === 'false' ? send(204) : send(200, this.messagePayload(msg));
      }
      if (which) {
        const msg = which === '@original' ? this.originalMessage(token) : this.messages.get(which);
        if (!msg || msg.interaction?.token !== token) return notFound(10008, 'Unknown Message');
        if (method === 'GET') return send(200, this.messagePayload(msg));
        if (method === 'PATCH') {
          const wasLoading = (msg.flags & FLAG_LOADING) !== 0;
          msg.flags &= ~FLAG_LOADING;
          this.applyMessageBody(msg, body, files, false);
          msg.edited_timestamp = wasLoading ? null : new Date().toISOString();
          this.pushReply(it.token, {
            callbackType: wasLoading ? CallbackType.DeferredChannelMessageWithSource : 0,
            ephemeral: (msg.flags & FLAG_EPHEMERAL) !== 0,
            message: msg,
          });
          return send(200, this.messagePayload(msg));
        }
        if (method === 'DELETE') {
          this.messages.delete(msg.id);
          return send(204);
        }
      }
    }

    // Who reacted with an emoji: ascending user ids after `after`, `limit` 1-100 (default 25), as Discord pages them.
    if (method === 'GET' && (g = m(/^\/channels\/(\d+)\/messages\/(\d+)\/reactions\/([^/]+)$/))) {
      const [, channelId, messageId, emoji] = g;
      const msg = this.messages.get(messageId);
      if (!msg || msg.channel_id !== channelId || msg.flags & FLAG_EPHEMERAL) return notFound(10008, 'Unknown Message');
      const limit = rec.query.limit === undefined ? 25 : Number(rec.query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100)
        return send(400, { message: 'Invalid Form Body', code: 50035 });
      if (this.reactionReadLimit && ++this.reactionReads % this.reactionReadLimit.every === 0) {
        const retryAfter = this.reactionReadLimit.retryAfterSeconds;
        const headers = {
          'retry-after': String(retryAfter),
          'x-ratelimit-scope': 'user',
          'x-ratelimit-bucket': 'reactions',
        };
        return send(429, { message: 'You are being rate limited.', retry_after: retryAfter, global: false }, headers);
      }
      if (rec.query.after !== undefined && !/^\d{1,20}$/.test(rec.query.after))
        return send(400, { message: 'Invalid Form Body', code: 50035 });
      const after = rec.query.after === undefined ? -1n : BigInt(rec.query.after);
      const ids = [...(msg.reactions.get(emoji) ?? [])].map(BigInt).filter((id) => id > after);
      ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return send(
        200,
        ids
          .slice(0, limit)
          .map((id) => userPayload(id === BigInt(this.botUser.id) ? this.botUser : this.user(String(id)))),
      );
    }

    // Reactions by the bot
    if ((g = m(/^\/channels\/(\d+)\/messages\/(\d+)\/reactions\/([^/]+)\/@me$/))) {
      const [, channelId, messageId, emoji] = g;
      const msg = this.messages.get(messageId);
      if (!msg || msg.channel_id !== channelId) return notFound(10008, 'Unknown Message');
      if (method === 'PUT') {
        const set = msg.reactions.get(emoji) ?? new Set<string>();
        const isNew = !set.has(this.botUser.id);
        set.add(this.botUser.id);
        msg.reactions.set(emoji, set);
        send(204);
        // Discord tells the bot about its own reactions too; the bot must ignore them.
        if (isNew) this.addReaction({ messageId, emoji, user: this.botUser, record: false });
        return;
      }
      if (method === 'DELETE') {
        msg.reactions.get(emoji)?.delete(this.botUser.id);
        return send(204);
      }
    }

    // Message reads
    if (method === 'GET' && (g = m(/^\/channels\/(\d+)\/messages\/(\d+)$/))) {
      const msg = this.messages.get(g[2]);
      if (!msg || msg.channel_id !== g[1] || msg.flags & FLAG_EPHEMERAL) return notFound(10008, 'Unknown Message');
      return send(200, this.messagePayload(msg));
    }
    if (method === 'GET' && (g = m(/^\/channels\/(\d+)$/))) {
      for (const guild of this.guilds) {
        const c = guild.channels.find((x) => x.id === g![1]);
        if (c)
          return send(200, {
            id: c.id,
            type: 0,
            name: c.name,
            guild_id: guild.id,
            position: 0,
            permission_overwrites: [],
          });
      }
      return notFound(10003, 'Unknown Channel');
    }
    if (method === 'GET' && (g = m(/^\/guilds\/(\d+)\/members\/(\d+)$/))) {
      const u = this.users.get(g[2]);
      return u ? send(200, this.memberPayload(u)) : notFound(10007, 'Unknown Member');
    }

    return notFound();
  }

  private serveExtras(url: URL, res: http.ServerResponse): void {
    const a = /^\/attachments\/(\d+)\/(\d+)\//.exec(url.pathname);
    if (a) {
      for (const m of this.messages.values()) {
        const att = m.attachments.find((x) => x.id === a[2]);
        if (att) {
          res.writeHead(200, { 'content-type': att.content_type, 'content-length': att.data.length });
          res.end(att.data);
          return;
        }
      }
      res.writeHead(404);
      res.end();
      return;
    }
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(this.renderHtml());
      return;
    }
    res.writeHead(404);
    res.end();
  }

  /** A read-only view of the default channel for people watching a demo. */
  private renderHtml(): string {
    const esc = (s: string) =>
      s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
    const items = this.channelMessages()
      .slice(-30)
      .reverse()
      .map((m) => {
        const imgs = m.attachments
          .filter((a) => a.content_type.startsWith('image/'))
          .map((a) => `<img src="${a.url}" style="max-width:512px;display:block">`)
          .join('');
        const buttons = (m.components as any[])
          .flatMap((row) => row.components ?? [])
          .map((c: any) => `<code>[${esc(String(c.label ?? c.custom_id))}] ${esc(String(c.custom_id ?? ''))}</code>`)
          .join(' ');
        const reactions = [...m.reactions.entries()].map(([e, u]) => `${esc(e)} ${u.size}`).join(' ');
        const flag = m.flags & FLAG_EPHEMERAL ? ' (ephemeral)' : '';
        return (
          `<div style="border-bottom:1px solid #ccc;padding:8px"><b>${esc(m.author.username)}</b> <small>${m.id}${flag}</small>` +
          `<pre>${esc(m.content)}</pre>${imgs}<div>${buttons}</div><div>${reactions}</div></div>`
        );
      })
      .join('\n');
    return `<!doctype html><meta http-equiv="refresh" content="3"><title>fake discord</title><body style="font-family:sans-serif">${items || 'no messages yet'}</body>`;
  }
}
