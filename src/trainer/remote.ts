/**
 * TrainingControl for a process that does not hold the trainer lease (a shard, a bot on another
 * machine, a bot with TRAINER_MODE=off): it reads the holder's published snapshot and queues
 * /train run|stop|rollback as TrainerRequest rows, then waits a little for the outcome.
 */
import type { PrismaClient } from '../db/client.ts';
import {
  createTrainerRequest,
  getTrainerRequest,
  NO_OWNER,
  readLease,
  type RequestOutcome,
  type TrainerAction,
} from '../db/trainer-lease.ts';
import type { ControlResult, RemoteTrainerStatus, TrainingControl, TrainingStatus } from './control.ts';
import { formatDuration } from './duration.ts';
import { parseSnapshot } from './snapshot.ts';

export interface RemoteRequestResult {
  id: number;
  /** Undefined: not handled within the wait (queued). */
  outcome?: RequestOutcome;
  message?: string;
}

/** What an admin is told when no process can carry out a request. */
function noTrainerMessage(st: RemoteTrainerStatus): string {
  const start = 'Start one with `npm run trainer` (see README), or a bot with TRAINER_MODE=auto.';
  if (st.never || st.released) return `No trainer is running for this shoebot. ${start}`;
  return `The trainer on \`${st.host}\` is not responding (no heartbeat for ${formatDuration(st.ageMs ?? 0)}). ${start}`;
}

export class RemoteTraining implements TrainingControl {
  readonly where = 'remote' as const;

  constructor(
    private readonly db: PrismaClient,
    private readonly opts: { staleAfterMs: number; waitMs?: number; pollMs?: number; observeMaxMs?: number },
  ) {}

  /**
   * Where the trainer is and what it published. Liveness is judged by the clocks first; a heartbeat
   * that looks stale is watched for one more heartbeat interval before the holder is declared
   * unresponsive (so a trainer whose clock runs behind ours is not refused).
   */
  async holder(): Promise<RemoteTrainerStatus> {
    const row = await readLease(this.db);
    if (!row) return { never: true, alive: false, released: false, ownerId: '', host: '' };
    const ageMs = Date.now() - row.heartbeatAt.getTime();
    const released = row.ownerId === NO_OWNER;
    const snapshot = parseSnapshot(row.snapshot);
    const heartbeatMs = snapshot?.heartbeatMs ?? this.opts.staleAfterMs / 3;
    let alive = !released && ageMs < 3 * heartbeatMs;
    let clockSkew = false;
    if (!released && !alive) {
      const until = Date.now() + Math.min(heartbeatMs + 1000, this.opts.observeMaxMs ?? 10_000);
      while (Date.now() < until) {
        await new Promise((r) => setTimeout(r, 200));
        const again = await readLease(this.db);
        if (again?.ownerId === row.ownerId && again.heartbeatAt.getTime() !== row.heartbeatAt.getTime()) {
          alive = clockSkew = true;
          break;
        }
      }
    }
    return {
      never: false,
      released,
      alive,
      ...(clockSkew ? { clockSkew } : {}),
      ownerId: row.ownerId,
      host: row.ownerHost || snapshot?.host || 'unknown host',
      heartbeatAt: row.heartbeatAt,
      ageMs,
      ...(snapshot ? { snapshot } : {}),
    };
  }

  /**
   * Queues a request for the holder and waits up to `waitMs` (default 5 s) for its outcome. Call
   * only when holder().alive: a request nobody executes would surprise an admin hours later (the
   * holder also refuses requests older than a few minutes).
   */
  async request(
    action: TrainerAction,
    argument: string | undefined,
    requestedBy: string,
    waitMs = this.opts.waitMs ?? 5000,
  ): Promise<RemoteRequestResult> {
    const req = await createTrainerRequest(this.db, { action, argument: argument ?? null, requestedBy });
    const until = Date.now() + waitMs;
    const poll = this.opts.pollMs ?? 250;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, poll));
      const row = await getTrainerRequest(this.db, req.id);
      if (row?.outcome) return { id: req.id, outcome: row.outcome as RequestOutcome, message: row.message ?? '' };
    }
    return { id: req.id };
  }

  async status(): Promise<TrainingStatus> {
    const remote = await this.holder();
    return { remote, ...(remote.snapshot ? { snapshot: remote.snapshot } : {}) };
  }

  run(steps: number | undefined, requestedBy: string): Promise<ControlResult> {
    return this.ask('run', steps === undefined ? undefined : String(steps), requestedBy);
  }

  stop(requestedBy: string): Promise<ControlResult> {
    return this.ask('stop', undefined, requestedBy);
  }

  rollback(version: string | undefined, requestedBy: string): Promise<ControlResult> {
    return this.ask('rollback', version, requestedBy);
  }

  /** A request to a live holder, answered with its outcome (or `queued` when it has not answered yet). */
  private async ask(action: TrainerAction, argument: string | undefined, requestedBy: string): Promise<ControlResult> {
    const st = await this.holder();
    if (!st.alive) return { outcome: 'refused', message: noTrainerMessage(st) };
    const r = await this.request(action, argument, requestedBy);
    if (!r.outcome) {
      return {
        outcome: 'queued',
        message: `Queued as request #${r.id} for the trainer on \`${st.host}\`: it has not answered within a few seconds. Check \`/train status\` in a moment.`,
      };
    }
    if (r.outcome !== 'done') return { outcome: r.outcome, message: r.message ?? 'The trainer refused the request.' };
    const note = action === 'rollback' ? ' Every bot process switches to it within a few seconds.' : '';
    return { outcome: 'done', message: `${r.message}${note}` };
  }
}
