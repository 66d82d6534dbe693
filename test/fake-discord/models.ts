/**
 * The shapes the fake keeps and hands to tests: users, guilds, messages and their attachments,
 * registered commands, interactions and the bot's replies, recorded REST requests and gateway
 * frames, and the options a fake starts with.
 */
import type http from 'node:http';

export interface FakeUser {
  id: string;
  username: string;
  bot?: boolean;
  /** Permissions as a member of the fake's guilds (a bit field as a decimal string); default MEMBER_PERMISSIONS. */
  permissions?: string;
}
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
export interface CommandOptionDef {
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
export interface FakeGuild {
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
