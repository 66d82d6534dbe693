/**
 * The one path by which reactions become stored votes, in arrival order. Discord delivers a
 * member's add and remove in order; applying them concurrently (each after its own database
 * lookup) let a quick add -> remove land remove-first and leave a vote behind. Here every event
 * joins one queue, synchronously as it arrives; the queue is written in batches (everything that
 * arrived while the previous batch was being written), each batch in one transaction whose
 * result is computed by replaying its events in order. Batching is also what makes ingestion
 * fast: one read and at most two writes per burst instead of a transaction per event.
 *
 * Reconcile snapshots (src/bot/reconcile.ts) join the same queue. A snapshot is what Discord
 * showed when it was read; any member's reaction on that message that arrived after the read
 * began is newer than the snapshot, so the snapshot leaves that member's vote as the live events
 * make it ("live events win").
 */
import type { Logger } from 'pino';
import { StorageUnavailableError } from '../db/storage-health.ts';
import { applyVoteBatch } from '../db/vote-batch.ts';
import type { VoteKey } from '../db/votes.ts';
import type { DesignRow, Store } from './store.ts';
import { VoteState } from './vote-state.ts';
import { gridIndexForEmoji, type VoteEvent } from './votes.ts';

export interface ReactionChange {
  kind: 'add' | 'remove';
  userId: string;
  messageId: string;
  emoji: string;
}

/** The members who reacted with each design's vote emoji on one message, as Discord showed them. */
export interface MessageSnapshot {
  messageId: string;
  guildId: string | null;
  designs: { designId: number; emoji: string; userIds: Set<string> }[];
  /** `VoteWriter.mark` taken just before Discord was asked. */
  since: number;
}

export interface SnapshotResult {
  added: number;
  removed: number;
}

export interface VoteWriterHooks {
  /** Every counted event, after its batch is stored (tests, metrics). */
  onVote?: (e: VoteEvent) => void;
  /** The guilds whose votes changed in a stored batch (null: direct messages). */
  onChanged?: (guildIds: Set<string | null>) => void;
  /** A batch could not be stored (its votes are lost until a reconcile). */
  onFailure?: (err: unknown) => void;
  /** The first batch stored after a failure. */
  onRecovered?: () => void;
}

type SnapshotItem = {
  type: 'snapshot';
  snap: MessageSnapshot;
  resolve: (r: SnapshotResult) => void;
  reject: (e: unknown) => void;
};
type Item = { type: 'event'; change: ReactionChange; seq: number } | SnapshotItem;

/** A batch's event that is a vote: its design, and whether storing it changed anything. */
interface MatchedVote {
  change: ReactionChange;
  design: DesignRow;
  changed: boolean;
}

/** Most queue items one transaction takes (the rest go into the next). */
const MAX_BATCH = 2000;
/** Design messages remembered (message id -> its designs): a busy message is looked up once. */
const DESIGN_CACHE_SIZE = 2000;

const touchKey = (messageId: string, emoji: string, userId: string) => `${messageId}\u0000${emoji}\u0000${userId}`;

export class VoteWriter {
  private seq = 0;
  private queue: Item[] = [];
  private running: Promise<void> | undefined;
  /** Last arrival per member reaction, kept only while a reconcile is reading Discord. */
  private touched = new Map<string, number>();
  private watchers = 0;
  private designCache = new Map<string, DesignRow[]>();
  private failing = false;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly hooks: VoteWriterHooks = {},
  ) {}

  /** The latest arrival's sequence number: a snapshot read after this is newer than every event up to it. */
  get mark(): number {
    return this.seq;
  }

  /** Events waiting to be written. */
  get pending(): number {
    return this.queue.length;
  }

  /** A reaction event, in the order the gateway delivered it. Never throws; failures are logged. */
  push(change: ReactionChange): void {
    const seq = ++this.seq;
    if (this.watchers > 0) this.touched.set(touchKey(change.messageId, change.emoji, change.userId), seq);
    this.queue.push({ type: 'event', change, seq });
    this.kick();
  }

  /** Applies a reconcile snapshot after every event queued before it. */
  snapshot(snap: MessageSnapshot): Promise<SnapshotResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ type: 'snapshot', snap, resolve, reject });
      this.kick();
    });
  }

  /** Start remembering arrivals (a reconcile is reading Discord); call the result when done. */
  watch(): () => void {
    this.watchers++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.watchers === 0) this.touched.clear();
    };
  }

  /** Resolves once everything queued so far is written (or failed). */
  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  private kick(): void {
    // setImmediate: events from the same burst of socket reads join one batch.
    this.running ??= new Promise<void>((r) => setImmediate(r)).then(() => this.loop());
  }

  private async loop(): Promise<void> {
    try {
      while (this.queue.length) await this.writeBatch(this.queue.splice(0, MAX_BATCH));
    } finally {
      this.running = undefined;
    }
  }

  private async designsOf(messageIds: Iterable<string>): Promise<Map<string, DesignRow[]>> {
    const out = new Map<string, DesignRow[]>();
    const missing: string[] = [];
    for (const id of new Set(messageIds)) {
      const hit = this.designCache.get(id);
      if (hit) out.set(id, hit);
      else missing.push(id);
    }
    if (missing.length) {
      for (const [id, designs] of await this.store.findDesignsByMessages(missing)) {
        out.set(id, designs);
        // Only design messages are remembered: a message's designs are attached once, after the
        // reply is posted, so "not a design" may still change for a moment.
        this.designCache.set(id, designs);
        if (this.designCache.size > DESIGN_CACHE_SIZE) this.designCache.delete(this.designCache.keys().next().value!);
      }
    }
    return out;
  }

  /** Stores one batch in one transaction, then tells the hooks; a failure loses the batch (logged). */
  private async writeBatch(items: Item[]): Promise<void> {
    const snapshots = items.filter((i) => i.type === 'snapshot');
    let votes: Map<Item, MatchedVote> | undefined;
    let perSnapshot: SnapshotResult[];
    try {
      votes = await this.matchVotes(items);
      if (!votes.size && !snapshots.length) return;
      perSnapshot = await this.storeBatch(items, votes, snapshots);
    } catch (err) {
      // Which events were lost: the votes among them once known, else every event.
      const lost = votes
        ? [...votes.values()].map((v) => v.change)
        : items.flatMap((i) => (i.type === 'event' ? [i.change] : []));
      this.batchFailed(err, lost, snapshots);
      return;
    }
    if (this.failing) {
      this.failing = false;
      this.hooks.onRecovered?.();
    }
    this.announce(votes, snapshots, perSnapshot);
  }

  /** Each event that is a vote, with its design (other emoji/messages were filtered or are not designs). */
  private async matchVotes(items: Item[]): Promise<Map<Item, MatchedVote>> {
    const votes = new Map<Item, MatchedVote>();
    const designs = await this.designsOf(items.flatMap((i) => (i.type === 'event' ? [i.change.messageId] : [])));
    for (const item of items) {
      if (item.type !== 'event') continue;
      const onMessage = designs.get(item.change.messageId);
      const idx = onMessage ? gridIndexForEmoji(item.change.emoji, onMessage.length) : -1;
      const design = onMessage?.find((d) => d.gridIndex === idx);
      if (design) votes.set(item, { change: item.change, design, changed: false });
    }
    return votes;
  }

  /**
   * Writes the batch's votes and snapshots in one transaction; marks each vote `changed` or not and
   * returns each snapshot's result, in order.
   */
  private async storeBatch(
    items: Item[],
    votes: Map<Item, MatchedVote>,
    snapshots: SnapshotItem[],
  ): Promise<SnapshotResult[]> {
    let perSnapshot: SnapshotResult[] = [];
    const pairs: VoteKey[] = [...votes.values()].map((v) => ({ userId: v.change.userId, designId: v.design.id }));
    const designIds = snapshots.flatMap((s) => s.snap.designs.map((d) => d.designId));
    await applyVoteBatch(this.store.db, { pairs, designIds }, (present) => {
      // Replays the batch in arrival order (pure: a retried transaction calls it again).
      const state = new VoteState(present, designIds);
      perSnapshot = [];
      for (const item of items) {
        if (item.type === 'snapshot') {
          perSnapshot.push(this.applySnapshot(item.snap, state));
          continue;
        }
        const v = votes.get(item);
        if (v) v.changed = state.set(v.design.id, v.change.userId, v.change.kind === 'add');
      }
      return state.keys;
    });
    return perSnapshot;
  }

  /** Logs the votes a failed batch lost, rejects its snapshots and reports the failure. */
  private batchFailed(err: unknown, lost: ReactionChange[], snapshots: SnapshotItem[]): void {
    if (err instanceof StorageUnavailableError) {
      // The fault itself is logged once, with the path, by the database's StorageHealth; here each vote it cost.
      for (const c of lost)
        this.log.warn(
          { kind: c.kind, user: c.userId, message: c.messageId, fault: err.fault },
          'vote not recorded: storage unavailable',
        );
    } else this.log.error({ err, events: lost.length, snapshots: snapshots.length }, 'vote not recorded');
    for (const s of snapshots) s.reject(err);
    this.failing = true;
    this.hooks.onFailure?.(err);
  }

  /** After a stored batch: the guilds whose votes changed, each vote, then each snapshot's result. */
  private announce(votes: Map<Item, MatchedVote>, snapshots: SnapshotItem[], perSnapshot: SnapshotResult[]): void {
    const changedGuilds = new Set<string | null>();
    for (const v of votes.values()) if (v.changed) changedGuilds.add(v.design.guildId);
    snapshots.forEach((s, i) => {
      if (perSnapshot[i].added || perSnapshot[i].removed) changedGuilds.add(s.snap.guildId);
    });
    if (changedGuilds.size) this.hooks.onChanged?.(changedGuilds);
    for (const { change, design, changed } of votes.values()) {
      this.log.debug(
        { kind: change.kind, user: change.userId, message: change.messageId, design: design.id, changed },
        'vote',
      );
      this.hooks.onVote?.({
        kind: change.kind,
        userId: change.userId,
        messageId: change.messageId,
        designId: design.id,
        changed,
      });
    }
    snapshots.forEach((s, i) => s.resolve(perSnapshot[i]));
  }

  /** The snapshot's votes into `state`, except members whose reactions arrived after it was read. */
  private applySnapshot(snap: MessageSnapshot, state: VoteState): SnapshotResult {
    const r: SnapshotResult = { added: 0, removed: 0 };
    for (const d of snap.designs) {
      for (const userId of new Set([...d.userIds, ...state.votersOf(d.designId)])) {
        if ((this.touched.get(touchKey(snap.messageId, d.emoji, userId)) ?? 0) > snap.since) continue;
        const want = d.userIds.has(userId);
        if (state.set(d.designId, userId, want)) r[want ? 'added' : 'removed']++;
      }
    }
    return r;
  }
}
