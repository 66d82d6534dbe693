/**
 * The fake's gateway (WebSocket, JSON frames, API v10): HELLO, IDENTIFY -> READY + GUILD_CREATE,
 * heartbeat ACK, RESUME (replays missed events), intent filtering, dropping connections, and
 * sharding (a session IDENTIFYing with `shard: [id, count]` gets only its guilds' events, routed
 * as Discord does: (guild_id >> 22) % count; events without a guild go to shard 0).
 */
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { EVENT_INTENT } from './discord-constants.ts';
import { guildPayload, userPayload } from './payloads.ts';
import type { Recorder } from './recorder.ts';
import { shardOf } from './snowflakes.ts';
import type { FakeState } from './state.ts';

interface Session {
  id: string;
  intents: number;
  seq: number;
  ws?: WebSocket;
  /** Dispatches with their sequence numbers, kept for RESUME. */
  history: { s: number; frame: string }[];
  shard: [number, number];
}

/** One open socket and the session it IDENTIFYed or RESUMEd as (none yet at first). */
interface Connection {
  ws: WebSocket;
  session?: Session;
}

type Frame = { op: number; d: unknown; s?: number | null; t?: string | null };

export class FakeGateway {
  /** Number of IDENTIFY and RESUME frames accepted. */
  identifyCount = 0;
  resumeCount = 0;
  private sessions = new Map<string, Session>();
  private sockets = new Set<WebSocket>();

  constructor(
    private readonly state: FakeState,
    private readonly records: Recorder,
    private readonly heartbeatIntervalMs: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Serves a new socket: HELLO now, then the frames the client sends. */
  accept(ws: WebSocket): void {
    this.sockets.add(ws);
    const conn: Connection = { ws };
    ws.on('close', () => {
      this.sockets.delete(ws);
      if (conn.session?.ws === ws) conn.session.ws = undefined;
    });
    ws.on('error', () => {});
    ws.on('message', (raw) => this.receive(conn, raw.toString()));
    this.sendFrame(ws, { op: 10, d: { heartbeat_interval: this.heartbeatIntervalMs } });
  }

  /** Ends every socket at once (the fake is closing). */
  terminateAll(): void {
    for (const ws of this.sockets) ws.terminate();
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

  private receive(conn: Connection, raw: string): void {
    let frame: any;
    try {
      frame = JSON.parse(raw);
    } catch {
      conn.ws.close(4002, 'Decode error');
      return;
    }
    this.records.recordGateway({
      dir: 'in',
      op: frame.op,
      d: frame.op === 2 || frame.op === 6 ? { ...frame.d, token: '[token]' } : frame.d,
      sessionId: conn.session?.id,
    });
    switch (frame.op) {
      case 1: // heartbeat
        this.sendFrame(conn.ws, { op: 11, d: null }, conn.session?.id);
        break;
      case 2:
        this.identify(conn, frame.d);
        break;
      case 6:
        this.resume(conn, frame.d);
        break;
      default:
        // presence/voice updates etc.: accepted and ignored
        break;
    }
  }

  private identify(conn: Connection, d: any): void {
    const { ws } = conn;
    if (d?.token !== this.state.token) {
      ws.close(4004, 'Authentication failed.');
      return;
    }
    const shard = d.shard ?? [0, 1];
    if (!validShard(shard)) {
      ws.close(4010, 'Invalid shard.');
      return;
    }
    this.identifyCount++;
    const session: Session = {
      id: randomBytes(16).toString('hex'),
      intents: Number(d.intents ?? 0),
      seq: 0,
      ws,
      history: [],
      shard: [shard[0], shard[1]],
    };
    conn.session = session;
    this.sessions.set(session.id, session);
    this.log(`gateway: IDENTIFY (intents ${session.intents}, shard ${session.shard.join('/')})`);
    this.sendReady(session);
  }

  /** READY with the session's guilds (unavailable at first), then a GUILD_CREATE for each. */
  private sendReady(session: Session): void {
    const mine = this.state.guilds.filter((g) => this.onShard(session, g.id));
    this.dispatchTo(session, 'READY', {
      v: 10,
      user: { ...userPayload(this.state.botUser), verified: true, mfa_enabled: false },
      guilds: mine.map((g) => ({ id: g.id, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: this.state.gatewayUrl,
      shard: session.shard,
      application: { id: this.state.applicationId, flags: 0 },
      private_channels: [],
      relationships: [],
      user_settings: {},
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
    });
    for (const g of mine) this.dispatchTo(session, 'GUILD_CREATE', guildPayload(this.state, g));
  }

  private resume(conn: Connection, d: any): void {
    const { ws } = conn;
    const s = this.sessions.get(d?.session_id);
    if (!s || d?.token !== this.state.token) {
      this.sendFrame(ws, { op: 9, d: false });
      return;
    }
    this.resumeCount++;
    conn.session = s;
    if (s.ws && s.ws !== ws) s.ws.terminate();
    s.ws = ws;
    const from = Number(d.seq ?? 0);
    this.log(`gateway: RESUME from seq ${from}`);
    for (const h of s.history) if (h.s > from && ws.readyState === WebSocket.OPEN) ws.send(h.frame);
    this.dispatchTo(s, 'RESUMED', {});
  }

  private sendFrame(ws: WebSocket | undefined, payload: Frame, sessionId?: string): void {
    this.records.recordGateway({ dir: 'out', op: payload.op, t: payload.t ?? null, d: payload.d, sessionId });
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ s: null, t: null, ...payload }));
  }

  private dispatchTo(session: Session, t: string, d: unknown): void {
    session.seq += 1;
    const payload = { op: 0, t, s: session.seq, d };
    const frame = JSON.stringify(payload);
    session.history.push({ s: session.seq, frame });
    if (session.history.length > 1000) session.history.shift();
    this.records.recordGateway({ dir: 'out', op: 0, t, d, sessionId: session.id });
    if (session.ws && session.ws.readyState === WebSocket.OPEN) session.ws.send(frame);
  }

  /** Whether a session's shard receives events of `guildId` (no guild: shard 0 only). */
  private onShard(s: Session, guildId: string | undefined): boolean {
    const [id, count] = s.shard;
    return guildId === undefined ? id === 0 : shardOf(guildId, count) === id;
  }
}

/** IDENTIFY's `shard`: [id, count] with 0 <= id < count. */
function validShard(shard: unknown): shard is [number, number] {
  return (
    Array.isArray(shard) &&
    shard.length === 2 &&
    shard.every(Number.isInteger) &&
    shard[1] >= 1 &&
    shard[0] >= 0 &&
    shard[0] < shard[1]
  );
}
