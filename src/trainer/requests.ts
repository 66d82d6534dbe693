/**
 * Admins' /train run|stop|rollback queued by processes that do not hold the trainer lease
 * (TrainerRequest rows, see remote.ts), carried out by the holder through its LocalTraining: the
 * admin reads the same answers as on the holder itself. Old requests are refused, not executed.
 */
import type { Logger } from 'pino';
import { MAX_TRAIN_STEPS } from '../config/env.ts';
import type { PrismaClient } from '../db/client.ts';
import {
  claimTrainerRequest,
  finishTrainerRequest,
  pendingTrainerRequests,
  pruneTrainerRequests,
  type TrainerRequest,
} from '../db/trainer-lease.ts';
import type { ControlResult } from './control.ts';
import type { LocalTraining } from './local.ts';

/** Requests older than this are refused, not executed (an admin would not expect a run hours later). */
export const REQUEST_MAX_AGE_MS = 10 * 60_000;
/** Finished requests are deleted after a week (checked at most hourly). */
const PRUNE_AFTER_MS = 7 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

export class RequestExecutor {
  private lastPrune = 0;

  constructor(
    private readonly opts: {
      db: PrismaClient;
      log: Logger;
      training: LocalTraining;
      defaultSteps: number;
      /** False once this process must stop executing (lost the lease, shutting down). */
      mayExecute: () => boolean;
    },
  ) {}

  /** Claims and carries out every pending request, in order. Never throws (logs and retries next time). */
  async handlePending(): Promise<void> {
    const { db, log } = this.opts;
    try {
      if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
        this.lastPrune = Date.now();
        await pruneTrainerRequests(db, new Date(Date.now() - PRUNE_AFTER_MS));
      }
      for (const req of await pendingTrainerRequests(db)) {
        if (!this.opts.mayExecute()) return;
        if (!(await claimTrainerRequest(db, req.id, new Date()))) continue;
        let result: ControlResult;
        try {
          result = await this.execute(req);
        } catch (err) {
          result = { outcome: 'failed', message: (err as Error).message };
        }
        const outcome = result.outcome === 'queued' ? 'failed' : result.outcome;
        log.info(
          {
            request: req.id,
            action: req.action,
            argument: req.argument,
            by: req.requestedBy,
            outcome,
            message: result.message,
          },
          'executed a trainer request',
        );
        await finishTrainerRequest(db, req.id, outcome, result.message);
      }
    } catch (err) {
      log.warn({ err }, 'could not handle trainer requests (retrying)');
    }
  }

  /** Carries out one queued /train run|stop|rollback; the message is what the admin reads. */
  private async execute(req: TrainerRequest): Promise<ControlResult> {
    if (Date.now() - req.createdAt.getTime() > REQUEST_MAX_AGE_MS) {
      return {
        outcome: 'refused',
        message: `Not executed: the request waited more than ${REQUEST_MAX_AGE_MS / 60_000} minutes for a trainer.`,
      };
    }
    const { training } = this.opts;
    switch (req.action) {
      case 'run': {
        const steps = req.argument ? Number(req.argument) : this.opts.defaultSteps;
        if (!Number.isInteger(steps) || steps < 1 || steps > MAX_TRAIN_STEPS)
          return { outcome: 'refused', message: `Not started: steps must be 1-${MAX_TRAIN_STEPS}.` };
        return training.run(steps);
      }
      case 'stop':
        return training.stop();
      case 'rollback':
        return training.rollback(req.argument ?? undefined);
      default:
        return { outcome: 'refused', message: `Unknown trainer request "${req.action}".` };
    }
  }
}
