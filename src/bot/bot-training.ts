/**
 * The bot's side of training: with TRAINER_MODE auto|local a lease service whose scheduler
 * hot-swaps the bot's generator, /train's route to whichever process trains (BotContext.training),
 * and the watcher that follows manifest.json changes made by others.
 */
import type { Logger } from 'pino';
import type { PrismaClient } from '../db/client.ts';
import { routeTraining, type TrainingControl } from '../trainer/control.ts';
import { LeaseService } from '../trainer/lease-service.ts';
import { watchManifest, type ManifestWatcher } from '../trainer/manifest-watch.ts';
import { gateRefusal } from '../trainer/quality-gate.ts';
import { RemoteTraining } from '../trainer/remote.ts';
import type { SchedulerOptions, TrainingScheduler } from '../trainer/scheduler.ts';
import type { Config } from '../config/env.ts';
import type { GenerationService } from './generation.ts';
import type { BotContext } from './types.ts';

/** Scheduled training: false disables it; an object overrides scheduler options. Default: on. */
export type TrainerOption = boolean | (Partial<SchedulerOptions> & { heartbeatMs?: number; requestPollMs?: number });
/** Following manifest.json: on/off, or its timings. */
export type ManifestOption = boolean | { debounceMs?: number; pollMs?: number; retryMs?: number };

export interface BotTraining {
  leaseService?: LeaseService;
  scheduler?: TrainingScheduler;
  /** Whose answers /train gets now (BotContext.training). */
  route: () => TrainingControl | undefined;
}

/**
 * The scheduled trainer: with TRAINER_MODE auto|local this process contends for the trainer lease
 * and trains while it holds it; otherwise (or while another process holds it) /train goes through
 * the database to the holder.
 */
export function setUpTraining(
  opts: { config: Config; trainer?: TrainerOption },
  db: PrismaClient,
  generation: GenerationService,
  log: Logger,
): BotTraining {
  const { config } = opts;
  if (opts.trainer === false) return { route: () => undefined };
  const { heartbeatMs, requestPollMs, ...schedulerOpts } = typeof opts.trainer === 'object' ? opts.trainer : {};
  if (config.TRAINER_MODE === 'off') {
    const remote = new RemoteTraining(db, {
      staleAfterMs: 3 * (heartbeatMs ?? config.TRAINER_HEARTBEAT_SECONDS * 1000),
    });
    return { route: () => remote };
  }
  const leaseService = new LeaseService({
    config,
    db,
    generation,
    log: log.child({ part: 'trainer' }),
    scheduler: schedulerOpts,
    watchManifest: false, // the bot's own watcher (followManifest)
    ...(heartbeatMs ? { heartbeatMs } : {}),
    ...(requestPollMs ? { requestPollMs } : {}),
  });
  const route = routeTraining({
    local: leaseService.local,
    remote: leaseService.remote,
    holding: () => leaseService.holding,
  });
  return { leaseService, scheduler: leaseService.scheduler, route };
}

/** Follows models/manifest.json changes made outside the bot (by default when the generator came from MODELS_DIR). */
export function followManifest(
  opts: { config: Config; watchManifest?: ManifestOption; generator?: unknown },
  ctx: BotContext,
  db: PrismaClient,
  training: BotTraining,
): ManifestWatcher | undefined {
  const watchOpts = opts.watchManifest ?? opts.generator === undefined;
  if (!watchOpts) return undefined;
  const { scheduler, leaseService } = training;
  return watchManifest({
    modelsDir: opts.config.MODELS_DIR,
    generation: ctx.generation,
    log: ctx.log.child({ part: 'manifest' }),
    isBusy: () => scheduler?.busy ?? false,
    gate: (version, manifest) => gateRefusal(db, version, manifest.updatedAt),
    onSwap: (e) => {
      ctx.activeProblem = undefined;
      // The lease holder records swaps in the database; followers only serve.
      if (scheduler && (!leaseService || leaseService.holding))
        return scheduler.recordExternalActivation(e.version, e.previous);
    },
    // Serving a fallback: retry the manifest's checkpoint (it may have been half-copied).
    checkNow: !!ctx.activeProblem,
    ...(typeof watchOpts === 'object' ? watchOpts : {}),
  });
}
