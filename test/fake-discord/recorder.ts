/**
 * Everything the fake received or sent, kept for tests to assert on: REST requests, gateway
 * frames and the bot's replies to interactions, with waits that resolve when a matching one
 * arrives (or is already there).
 */
import { FLAG_LOADING } from './discord-constants.ts';
import type { FakeInteraction, GatewayRecord, InteractionReply, RecordedRequest } from './models.ts';

interface Waiter<T> {
  pred: (x: T) => boolean;
  resolve: (x: T) => void;
}

/** Options of a wait: only records at or after `since` (a `mark()`), for at most `timeoutMs`. */
export interface WaitOptions {
  since?: number;
  timeoutMs?: number;
}

export class Recorder {
  readonly requests: RecordedRequest[] = [];
  readonly gatewayLog: GatewayRecord[] = [];
  /** Responses per interaction token, in arrival order. */
  readonly replies = new Map<string, InteractionReply[]>();
  private requestWaiters: Waiter<RecordedRequest>[] = [];
  private gatewayWaiters: Waiter<GatewayRecord>[] = [];
  private replyWaiters: Waiter<{ token: string; reply: InteractionReply }>[] = [];

  /** Keeps an answered REST request and wakes the waits it matches. */
  recordRequest(rec: RecordedRequest): void {
    this.requests.push(rec);
    this.notify(this.requestWaiters, rec);
  }

  /** Keeps a gateway frame (numbered and timed here) and wakes the waits it matches. */
  recordGateway(r: Omit<GatewayRecord, 'seq' | 'at'>): void {
    const rec: GatewayRecord = { ...r, seq: this.gatewayLog.length, at: Date.now() };
    this.gatewayLog.push(rec);
    this.notify(this.gatewayWaiters, rec);
  }

  /** Keeps a snapshot of the bot's reply to interaction `token` and wakes the waits it matches. */
  recordReply(token: string, reply: InteractionReply): void {
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

  /** Sequence number to pass as `since` so a wait only considers later requests. */
  mark(): number {
    return this.requests.length;
  }

  /** Resolves with the first recorded REST request (at or after `since`) matching `pred`. */
  waitForRequest(pred: (r: RecordedRequest) => boolean, opts: WaitOptions = {}): Promise<RecordedRequest> {
    const since = opts.since ?? 0;
    return this.wait(
      this.requestWaiters,
      this.requests.slice(since),
      (r) => r.seq >= since && pred(r),
      opts.timeoutMs ?? 10_000,
      'a REST request',
    );
  }

  /** Resolves with the first gateway frame (at or after `since`) matching `pred`. */
  waitForGateway(pred: (r: GatewayRecord) => boolean, opts: WaitOptions = {}): Promise<GatewayRecord> {
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
}
