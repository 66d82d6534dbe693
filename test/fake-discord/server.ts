/**
 * A small Discord-compatible server on 127.0.0.1 for tests and local demos: `FakeDiscord`, which
 * puts together the state (state.ts), the gateway (gateway.ts), the REST routes (rest.ts and
 * routes-*.ts), what members do (member-interactions.ts, member-reactions.ts) and the record of
 * everything received, with its waits (recorder.ts).
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
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { FakeGateway } from './gateway.ts';
import {
  MemberInteractions,
  type ButtonPress,
  type CommandUse,
  type ContextMenuUse,
  type ModalSubmission,
  type SelectMenuChoice,
} from './member-interactions.ts';
import { MemberReactions, type ReactionUse } from './member-reactions.ts';
import type {
  FakeDiscordOptions,
  FakeInteraction,
  FakeMessage,
  GatewayRecord,
  InteractionReply,
  RecordedRequest,
} from './models.ts';
import { messagePayload } from './payloads.ts';
import { Recorder, type WaitOptions } from './recorder.ts';
import { FakeRest } from './rest.ts';
import { FakeState } from './state.ts';

export class FakeDiscord extends FakeState {
  private readonly records = new Recorder();
  readonly requests: RecordedRequest[] = this.records.requests;
  readonly gatewayLog: GatewayRecord[] = this.records.gatewayLog;
  /** Responses per interaction token, in arrival order. */
  readonly replies: Map<string, InteractionReply[]> = this.records.replies;
  private readonly onLog?: (line: string) => void;
  private readonly log = (line: string): void => this.onLog?.(line);
  private readonly gateway: FakeGateway;
  private readonly memberInteractions: MemberInteractions;
  private readonly memberReactions: MemberReactions;
  private readonly rest: FakeRest;
  private http!: http.Server;
  private wss!: WebSocketServer;
  private closed = false;

  private constructor(opts: FakeDiscordOptions) {
    super(opts);
    this.onLog = opts.onLog;
    this.gateway = new FakeGateway(this, this.records, opts.heartbeatIntervalMs ?? 41_250, this.log);
    this.memberInteractions = new MemberInteractions(this, this.gateway, this.log);
    this.memberReactions = new MemberReactions(this, this.gateway);
    this.rest = new FakeRest({ state: this, records: this.records, reactions: this.memberReactions }, this.log);
  }

  /** Starts a fake on 127.0.0.1 (random port unless `port` is given). */
  static async start(opts: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    const fake = new FakeDiscord(opts);
    await fake.listen(opts.port ?? 0);
    return fake;
  }

  // ------------------------------------------------------------------ lifecycle
  private listen(port: number): Promise<void> {
    this.http = http.createServer((req, res) => {
      this.rest.handle(req, res).catch((err) => {
        this.log(`REST handler error: ${(err as Error).stack}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'fake discord internal error', code: 0 }));
      });
    });
    this.wss = new WebSocketServer({ server: this.http });
    this.wss.on('connection', (ws) => this.gateway.accept(ws));
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
    this.gateway.terminateAll();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  // ------------------------------------------------------------------ gateway
  /** Number of IDENTIFY and RESUME frames accepted. */
  get identifyCount(): number {
    return this.gateway.identifyCount;
  }
  get resumeCount(): number {
    return this.gateway.resumeCount;
  }

  /**
   * Sends a dispatch event to every session whose intents allow it and whose shard serves the
   * event's guild; returns how many sessions it was queued for (see FakeGateway.dispatch).
   */
  dispatch(t: string, d: unknown): number {
    return this.gateway.dispatch(t, d);
  }

  /**
   * Drops every gateway connection (or only those of shard `shard`). `code`
   * 4000 (default) is resumable: the client reconnects and RESUMEs.
   * `invalidate` also forgets the sessions so the client must IDENTIFY
   * again. `abrupt` terminates without a close frame.
   */
  dropConnections(opts: { code?: number; invalidate?: boolean; abrupt?: boolean; shard?: number } = {}): void {
    this.gateway.dropConnections(opts);
  }

  /** Sessions by shard: which shards have identified, and whether their socket is open. */
  shardSessions(): { sessionId: string; shard: [number, number]; connected: boolean }[] {
    return this.gateway.shardSessions();
  }

  /** Number of sessions with an open socket. */
  get connectedSessions(): number {
    return this.gateway.connectedSessions;
  }

  // ------------------------------------------------------------------ waiting
  /** Sequence number to pass as `since` so a wait only considers later requests. */
  mark(): number {
    return this.records.mark();
  }

  /** Resolves with the first recorded REST request (at or after `since`) matching `pred`. */
  waitForRequest(pred: (r: RecordedRequest) => boolean, opts: WaitOptions = {}): Promise<RecordedRequest> {
    return this.records.waitForRequest(pred, opts);
  }

  /** Alias of waitForRequest: `await fake.waitFor((r) => r.method === 'PUT' && …)`. */
  waitFor(pred: (r: RecordedRequest) => boolean, opts: WaitOptions = {}): Promise<RecordedRequest> {
    return this.records.waitForRequest(pred, opts);
  }

  /** Resolves with the first gateway frame (at or after `since`) matching `pred`. */
  waitForGateway(pred: (r: GatewayRecord) => boolean, opts: WaitOptions = {}): Promise<GatewayRecord> {
    return this.records.waitForGateway(pred, opts);
  }

  /**
   * Resolves with the bot's answer to an interaction: a message reply, or the
   * first edit of a deferred reply (loading state skipped). Acknowledgements
   * without content (defer) are not answers.
   */
  waitForReply(
    interaction: FakeInteraction | string,
    opts: { timeoutMs?: number; index?: number } = {},
  ): Promise<InteractionReply> {
    return this.records.waitForReply(interaction, opts);
  }

  // ------------------------------------------------------------------ user actions
  /**
   * A member runs a slash command. Option types come from the registered
   * command (so discord.js resolves them); values are sent as given, not
   * coerced or range-checked, so tests can send bad input.
   */
  sendCommand(opts: CommandUse): FakeInteraction {
    return this.memberInteractions.sendCommand(opts);
  }

  /** A member presses a button on a message (by custom_id). */
  pressButton(opts: ButtonPress): FakeInteraction {
    return this.memberInteractions.pressButton(opts);
  }

  /** A member uses a context-menu command (`target` 'user': on a user; 'message': on a message of the channel). */
  sendContextMenu(opts: ContextMenuUse): FakeInteraction {
    return this.memberInteractions.sendContextMenu(opts);
  }

  /** A member picks `values` in a string select menu on a message. */
  chooseInSelectMenu(opts: SelectMenuChoice): FakeInteraction {
    return this.memberInteractions.chooseInSelectMenu(opts);
  }

  /** A member submits a modal (`fields`: text input custom_id -> value). */
  submitModal(opts: ModalSubmission): FakeInteraction {
    return this.memberInteractions.submitModal(opts);
  }

  /**
   * A user adds a reaction. The message need not be known to the fake (a
   * message from "before a restart"); then `channelId` defaults to the
   * default channel. Set `record: false` to replay an event without changing
   * the fake's state (duplicate delivery).
   */
  addReaction(opts: ReactionUse & { record?: boolean }): void {
    this.memberReactions.addReaction(opts);
  }

  /** A user removes a reaction. */
  removeReaction(opts: ReactionUse): void {
    this.memberReactions.removeReaction(opts);
  }

  // ------------------------------------------------------------------ messages
  /** API shape of a stored message. */
  messagePayload(m: FakeMessage) {
    return messagePayload(this, m);
  }
}
