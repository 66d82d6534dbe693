/**
 * Reconcile: Discord never replays reactions made while the bot was offline (restart, deploy,
 * crash), while a new gateway session replaced one that could not resume, or while its storage
 * failed, so those votes would simply be missing (or stale). After each of these, the reactions of
 * recent design messages are read back over REST and the Vote table is made to match: missing
 * votes added, stale ones removed, the bot's own reactions ignored.
 *
 * Bounded (RECONCILE_DAYS, RECONCILE_MAX_MESSAGES), in the background (nothing waits for it; /shoe
 * never does), with few requests in flight (discord.js waits out rate limits per route). Snapshots
 * go through the vote writer's queue, so live reactions that arrive during a reconcile win.
 */
import type { Client } from 'discord.js';
import type { Logger } from 'pino';
import { isUnreadableMessage, reactionCounts, reactionUsers, RequestPacer } from './reaction-reader.ts';
import type { PostedMessage, Store } from './store.ts';
import type { SnapshotResult, VoteWriter } from './vote-writer.ts';
import { voteEmojiFor } from './votes.ts';

export type ReconcileReason = 'start-up' | 'new gateway session' | 'storage recovered' | 'retry after failure';

export interface ReconcileOptions {
  /** Messages posted within this many days are re-read. */
  days: number;
  /** At most this many messages (the newest) per reconcile; 0 turns reconcile off. */
  maxMessages: number;
  /** Messages read at once (each needs 1 request plus 1 per reacted vote emoji). */
  concurrency?: number;
  /** Discord requests per second at most (default 20: discord.js allows 50/s for everything, /shoe's answers included). */
  requestsPerSecond?: number;
  /** First wait before retrying a reconcile that could not store its result (doubles up to 10 min). */
  retryMs?: number;
}

export interface ReconcileReport {
  reason: ReconcileReason;
  /** Messages read and compared. */
  messages: number;
  /** Messages Discord no longer shows the bot (deleted, no access): left as they are. */
  unreadable: number;
  /** Messages that failed (network, storage): retried later. */
  failed: number;
  added: number;
  removed: number;
  ms: number;
}

const MAX_RETRY_MS = 10 * 60_000;
const DAY_MS = 86_400_000;
/** Messages failing in a row after which a reconcile gives up until its retry. */
const GIVE_UP_AFTER = 3;

export class Reconciler {
  private run: Promise<void> | undefined;
  private again: ReconcileReason | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs: number;
  private readonly pacer: RequestPacer;
  /** Every finished reconcile, newest last (tests, /train status could show it). */
  readonly reports: ReconcileReport[] = [];

  constructor(
    private readonly client: Client,
    private readonly store: Store,
    private readonly writer: VoteWriter,
    private readonly log: Logger,
    private readonly opts: ReconcileOptions,
  ) {
    this.retryMs = opts.retryMs ?? 30_000;
    this.pacer = new RequestPacer(opts.requestsPerSecond ?? 20);
  }

  /** Asks for a reconcile; one already running is followed by one more (requests meanwhile coalesce). */
  request(reason: ReconcileReason): void {
    if (this.stopped || this.opts.maxMessages <= 0) return;
    if (this.run) {
      this.again ??= reason;
      return;
    }
    this.run = this.reconcile(reason)
      .catch((err) => {
        this.log.error({ err, reason }, 'reconcile failed');
        this.scheduleRetry();
      })
      .finally(() => {
        this.run = undefined;
        const next = this.again;
        this.again = undefined;
        if (next) this.request(next);
      });
  }

  /** Resolves when no reconcile is running or asked for. */
  async idle(): Promise<void> {
    while (this.run) await this.run;
  }

  /** No more reconciles; waits for the one running (it stops after the messages in flight). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.idle();
  }

  /** A reconcile later (after a failure: lost votes, unreadable Discord), backing off while failures go on. */
  scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    const wait = this.retryMs;
    this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.request('retry after failure');
    }, wait).unref();
  }

  /** The guilds this process serves (its shards'), and direct messages on shard 0. */
  private scope(): (string | null)[] {
    const guilds: (string | null)[] = [...this.client.guilds.cache.keys()];
    if (!this.client.shard || this.client.shard.ids.includes(0)) guilds.push(null);
    return guilds;
  }

  private async reconcile(reason: ReconcileReason): Promise<void> {
    const t0 = performance.now();
    const report: ReconcileReport = { reason, messages: 0, unreadable: 0, failed: 0, added: 0, removed: 0, ms: 0 };
    const messages = await this.store.recentPostedMessages({
      since: new Date(Date.now() - this.opts.days * DAY_MS),
      guildIds: this.scope(),
      limit: this.opts.maxMessages,
    });
    const release = this.writer.watch();
    const stored: Promise<void>[] = [];
    try {
      let next = 0;
      let failedInARow = 0;
      const worker = async () => {
        // Discord unreachable: a few failures in a row end this reconcile (the retry comes later).
        while (next < messages.length && !this.stopped && failedInARow < GIVE_UP_AFTER) {
          const msg = messages[next++];
          const outcome = await this.readMessage(msg);
          failedInARow = outcome === 'failed' ? failedInARow + 1 : 0;
          if (outcome === 'unreadable') report.unreadable++;
          else if (outcome === 'failed') report.failed++;
          else {
            report.messages++;
            // Not awaited here: the writer batches many messages' snapshots into one transaction.
            stored.push(
              outcome.stored.then(
                (r) => void ((report.added += r.added), (report.removed += r.removed)),
                () => void (report.messages--, report.failed++),
              ),
            );
          }
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, this.opts.concurrency ?? 2) }, worker));
      await Promise.all(stored);
      if (failedInARow >= GIVE_UP_AFTER) report.failed += messages.length - next;
    } finally {
      release();
    }
    report.ms = Math.round(performance.now() - t0);
    this.reports.push(report);
    this.log.info({ ...report, days: this.opts.days, limit: this.opts.maxMessages }, 'votes reconciled');
    if (report.failed) this.scheduleRetry();
    else this.retryMs = this.opts.retryMs ?? 30_000;
  }

  /** Reads one message's vote reactions and queues the snapshot; 'unreadable' or 'failed' when it could not. */
  private async readMessage(
    msg: PostedMessage,
  ): Promise<{ stored: Promise<SnapshotResult> } | 'unreadable' | 'failed'> {
    const since = this.writer.mark;
    const emoji = voteEmojiFor(msg.designs.length);
    const botId = this.client.user?.id;
    try {
      const counts = await reactionCounts(this.client.rest, this.pacer, msg.channelId, msg.messageId);
      const designs = [];
      for (const d of msg.designs) {
        const e = emoji[d.gridIndex];
        if (!e) continue;
        // No one but the bot reacted with it: no list to read.
        const userIds =
          (counts.get(e) ?? 0) > 0
            ? await reactionUsers(this.client.rest, this.pacer, msg.channelId, msg.messageId, e)
            : new Set<string>();
        if (botId) userIds.delete(botId);
        designs.push({ designId: d.id, emoji: e, userIds });
      }
      return { stored: this.writer.snapshot({ messageId: msg.messageId, guildId: msg.guildId, designs, since }) };
    } catch (err) {
      if (isUnreadableMessage(err)) return 'unreadable';
      this.log.warn({ err, message: msg.messageId, channel: msg.channelId }, 'reconcile could not read a message');
      return 'failed';
    }
  }
}
