/**
 * Votes, wired together: reaction events -> the ordered vote writer, and the reconcile that
 * catches up what the bot could not see or store, run after start-up, after every gateway session
 * that could not resume (shardReady after the first ready: a fresh IDENTIFY), and after the
 * storage accepts votes again.
 */
import type { Client } from 'discord.js';
import type { Logger } from 'pino';
import type { Config } from '../config/env.ts';
import { communityTaste } from './community.ts';
import { Reconciler } from './reconcile.ts';
import type { Store } from './store.ts';
import { VoteWriter } from './vote-writer.ts';
import { attachVoteHandlers } from './reaction-votes.ts';
import type { VoteEvent } from './votes.ts';

export interface VoteService {
  writer: VoteWriter;
  reconciler: Reconciler;
  /** Stops listening, lets a running reconcile finish its messages in flight and stores every vote received. */
  stop(): Promise<void>;
}

export function startVoteService(
  client: Client,
  store: Store,
  config: Pick<Config, 'RECONCILE_DAYS' | 'RECONCILE_MAX_MESSAGES'>,
  log: Logger,
  opts: { onVote?: (e: VoteEvent) => void; retryMs?: number } = {},
): VoteService {
  let reconciler: Reconciler | undefined;
  const writer = new VoteWriter(store, log, {
    onVote: opts.onVote,
    // The guilds' community taste is now stale (refitted after a quiet moment).
    onChanged: (guilds) => guilds.forEach((g) => communityTaste(store).noteVote(g)),
    onRecovered: () => reconciler?.request('storage recovered'),
    // Votes were lost: a reconcile later catches them up even if no vote comes to show recovery.
    onFailure: () => reconciler?.scheduleRetry(),
  });
  reconciler = new Reconciler(client, store, writer, log.child({ part: 'reconcile' }), {
    days: config.RECONCILE_DAYS,
    maxMessages: config.RECONCILE_MAX_MESSAGES,
    retryMs: opts.retryMs,
  });
  const detach = attachVoteHandlers(client, writer);
  let ready = false;
  const onReady = () => {
    ready = true;
    reconciler!.request('start-up');
  };
  // Before the first ready, shardReady is the start-up itself; after it, a session that could not resume.
  const onShardReady = () => {
    if (ready) reconciler!.request('new gateway session');
  };
  client.once('clientReady', onReady);
  client.on('shardReady', onShardReady);
  return {
    writer,
    reconciler,
    async stop() {
      detach();
      client.off('clientReady', onReady);
      client.off('shardReady', onShardReady);
      await reconciler!.stop();
      await writer.drain();
    },
  };
}
