/**
 * The bot's view of the database: src/db's repositories bound to one Prisma
 * client, with the shapes the handlers use (booleans for "did this change
 * anything"), so commands and vote handlers stay thin.
 */
import type { PrismaClient } from '../db/client.ts';
import {
  attachMessage,
  bytesToLatent,
  createDesigns,
  findDesignsByMessage,
  findDesignsByMessages,
  getDesign,
  recentPostedMessages,
  topDesigns,
  type Design,
  type NewDesign,
  type PostedMessage,
} from '../db/designs.ts';
import { addVote, countVotes, removeVote } from '../db/votes.ts';

export type DesignRow = Design;
export type { NewDesign, PostedMessage };
export { bytesToLatent };

export class Store {
  constructor(readonly db: PrismaClient) {}

  /** Inserts the designs of one message; returns them in input order (grid order). */
  createDesigns(rows: NewDesign[]): Promise<DesignRow[]> {
    return createDesigns(this.db, rows);
  }

  /** Records which Discord message shows these designs (votes are looked up by it). */
  async attachMessage(designIds: number[], messageId: string): Promise<void> {
    await attachMessage(this.db, designIds, messageId);
  }

  /** The designs shown in a message, by grid position (empty for any other message). */
  findDesignsByMessage(messageId: string): Promise<DesignRow[]> {
    return findDesignsByMessage(this.db, messageId);
  }

  /** The designs of several messages (message id -> designs by grid position; other messages left out). */
  findDesignsByMessages(messageIds: string[]): Promise<Map<string, DesignRow[]>> {
    return findDesignsByMessages(this.db, messageIds);
  }

  /** The newest design messages since `since` in these guilds (null: direct messages): what a reconcile re-reads. */
  recentPostedMessages(opts: { since: Date; guildIds: (string | null)[]; limit: number }): Promise<PostedMessage[]> {
    return recentPostedMessages(this.db, opts);
  }

  findDesign(id: number): Promise<DesignRow | null> {
    return getDesign(this.db, id);
  }

  /** One upvote; a duplicate (replayed event, double click) is a no-op. Returns whether it was new. */
  async addVote(userId: string, designId: number): Promise<boolean> {
    return (await addVote(this.db, { userId, designId })) === 'added';
  }

  /** Removes a vote; returns whether there was one. */
  async removeVote(userId: string, designId: number): Promise<boolean> {
    return (await removeVote(this.db, { userId, designId })) === 'removed';
  }

  voteCount(designId: number): Promise<number> {
    return countVotes(this.db, designId);
  }

  /**
   * A guild's newest designs (null: direct messages), newest first, with their vote counts:
   * /blend's suggestions. Only posted designs (with a message) count.
   */
  async recentDesigns(guildId: string | null, limit: number): Promise<{ design: DesignRow; votes: number }[]> {
    const rows = await this.db.design.findMany({
      where: { guildId, messageId: { not: null } },
      orderBy: { id: 'desc' },
      take: limit,
      include: { _count: { select: { votes: true } } },
    });
    return rows.map(({ _count, ...design }) => ({ design: design as DesignRow, votes: _count.votes }));
  }

  /** Most-voted designs of a guild, with their vote counts. */
  async topDesigns(guildId: string | null, limit: number): Promise<{ design: DesignRow; votes: number }[]> {
    return (await topDesigns(this.db, guildId, limit)).map(({ votes, ...design }) => ({
      design: design as DesignRow,
      votes,
    }));
  }
}
