/**
 * The votes of one vote-writer batch while its events and snapshots are replayed in arrival order
 * (src/bot/vote-writer.ts): which votes are present, and each snapshot design's voters.
 */
import { voteKey } from '../db/vote-batch.ts';

/** The votes of a batch while it is replayed, with each snapshot design's voters at hand. */
export class VoteState {
  private readonly voters = new Map<number, Set<string>>();

  /** `keys`: the present votes of the batch's pairs (voteKey form); `designIds`: the snapshots' designs. */
  constructor(
    readonly keys: Set<string>,
    designIds: number[],
  ) {
    for (const id of designIds) this.voters.set(id, new Set());
    for (const k of keys) {
      const i = k.indexOf(':');
      this.voters.get(Number(k.slice(0, i)))?.add(k.slice(i + 1));
    }
  }

  /** The members whose vote on `designId` is present (snapshot designs only; else empty). */
  votersOf(designId: number): Set<string> {
    return this.voters.get(designId) ?? new Set();
  }

  /** Makes the vote present or absent; returns whether that changed anything. */
  set(designId: number, userId: string, present: boolean): boolean {
    const k = voteKey(designId, userId);
    if (this.keys.has(k) === present) return false;
    if (present) {
      this.keys.add(k);
      this.voters.get(designId)?.add(userId);
    } else {
      this.keys.delete(k);
      this.voters.get(designId)?.delete(userId);
    }
    return true;
  }
}
