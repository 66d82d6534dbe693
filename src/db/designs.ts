/**
 * Designs: every sneaker the bot showed, with what it takes to draw it again (latent vector, seed,
 * grid position, checkpoint version) and where it was posted (guild/channel/message ids).
 */
import type { Design, PrismaClient } from './generated/client.ts';

export type { Design };
export type DesignKind = 'shoe' | 'variation' | 'upscale' | 'blend';

export interface NewDesign {
  seed: number;
  gridIndex: number;
  /** The latent vector (nz float32 values), or its bytes as produced by latentToBytes. */
  latent: Float32Array | Uint8Array;
  checkpointVersion: string;
  kind?: DesignKind;
  parentId?: number | null;
  /** For a blend: the second design (parentId is the first). */
  secondParentId?: number | null;
  /** Community-mode steering strength (0..1) the latent was drawn with; null/absent: plain sampling. */
  steering?: number | null;
  guildId?: string | null;
  channelId: string;
  /** Usually unknown until the reply is posted; see attachMessage. */
  messageId?: string | null;
  requesterId: string;
}

/** float32 values -> little-endian bytes (the stored form, the same on every host). */
export function latentToBytes(latent: Float32Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(latent.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < latent.length; i++) view.setFloat32(i * 4, latent[i], true);
  return out;
}

/** Stored little-endian bytes -> float32 values. */
export function bytesToLatent(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0)
    throw new Error(`A latent vector needs a multiple of 4 bytes, got ${bytes.byteLength}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

function toBytes(latent: Float32Array | Uint8Array): Uint8Array<ArrayBuffer> {
  return latent instanceof Float32Array ? latentToBytes(latent) : new Uint8Array(latent);
}

/** Stores a batch of designs (one grid) in one statement; returns them in input order with ids. */
export async function createDesigns(db: PrismaClient, designs: NewDesign[]): Promise<Design[]> {
  if (designs.length === 0) return [];
  const rows = await db.design.createManyAndReturn({
    data: designs.map((d) => ({ ...d, latent: toBytes(d.latent) })),
  });
  return rows.sort((a, b) => a.id - b.id);
}

/** The designs shown in one Discord message, by grid position. */
export async function findDesignsByMessage(db: PrismaClient, messageId: string): Promise<Design[]> {
  return db.design.findMany({ where: { messageId }, orderBy: [{ gridIndex: 'asc' }, { id: 'asc' }] });
}

/** The designs of several messages at once (message id -> designs by grid position); other ids are left out. */
export async function findDesignsByMessages(db: PrismaClient, messageIds: string[]): Promise<Map<string, Design[]>> {
  const out = new Map<string, Design[]>();
  if (messageIds.length === 0) return out;
  // In slices: Prisma caps SQLite statements at 999 bound parameters.
  const rows = [];
  for (let i = 0; i < messageIds.length; i += 900)
    rows.push(
      ...(await db.design.findMany({
        where: { messageId: { in: messageIds.slice(i, i + 900) } },
        orderBy: [{ gridIndex: 'asc' }, { id: 'asc' }],
      })),
    );
  for (const d of rows) {
    const list = out.get(d.messageId!) ?? [];
    list.push(d);
    out.set(d.messageId!, list);
  }
  return out;
}

export interface PostedMessage {
  messageId: string;
  channelId: string;
  guildId: string | null;
  /** By grid position. */
  designs: Design[];
}

/**
 * The newest messages showing designs, posted since `since` in `guildIds` (null in the list: direct
 * messages), newest first, at most `limit` messages.
 */
export async function recentPostedMessages(
  db: PrismaClient,
  opts: { since: Date; guildIds: (string | null)[]; limit: number },
): Promise<PostedMessage[]> {
  if (opts.limit <= 0 || opts.guildIds.length === 0) return [];
  const guilds = opts.guildIds.filter((g): g is string => g !== null);
  const where = {
    messageId: { not: null },
    createdAt: { gte: opts.since },
    OR: [{ guildId: { in: guilds } }, ...(opts.guildIds.includes(null) ? [{ guildId: null }] : [])],
  };
  // A message shows at most 4 designs (a /shoe grid): 4 * limit rows cover `limit` messages.
  const newest = await db.design.findMany({
    where,
    orderBy: { id: 'desc' },
    take: opts.limit * 4,
    select: { messageId: true },
  });
  const ids = [...new Set(newest.map((d) => d.messageId!))].slice(0, opts.limit);
  const designs = await findDesignsByMessages(db, ids);
  return ids.map((id) => {
    const list = designs.get(id)!;
    return { messageId: id, channelId: list[0].channelId, guildId: list[0].guildId, designs: list };
  });
}

/** Records the message the designs were posted in; returns how many designs were updated. */
export async function attachMessage(db: PrismaClient, ids: number[], messageId: string): Promise<number> {
  if (ids.length === 0) return 0;
  const { count } = await db.design.updateMany({ where: { id: { in: ids } }, data: { messageId } });
  return count;
}

/** One design, or null. */
export async function getDesign(db: PrismaClient, id: number): Promise<Design | null> {
  return db.design.findUnique({ where: { id } });
}

export type RankedDesign = Design & { votes: number };

/**
 * The most-voted designs of a guild (null: direct messages), most votes first, older first on ties.
 * Designs without votes are left out.
 */
export async function topDesigns(db: PrismaClient, guildId: string | null, limit = 10): Promise<RankedDesign[]> {
  const rows = await db.design.findMany({
    where: { guildId, votes: { some: {} } },
    orderBy: [{ votes: { _count: 'desc' } }, { id: 'asc' }],
    take: limit,
    include: { _count: { select: { votes: true } } },
  });
  return rows.map(({ _count, ...d }) => ({ ...d, votes: _count.votes }));
}
