/**
 * Assembles the bot: TensorFlow.js backend, database, active generator,
 * commands, discord.js client, interaction router, vote handlers and the
 * scheduled trainer. `startBot` is what `npm start` runs and what the tests
 * drive against the fake Discord.
 */
import type { Client } from 'discord.js';
import type { Logger } from 'pino';
import type { Config } from '../config/env.ts';
import { openDatabase, type PrismaClient } from '../db/client.ts';
import { log as rootLog, registerSecret } from '../log.ts';
import { initTf } from '../tf/index.ts';
import { createClient } from './client.ts';
import { loadCommands, registerCommands } from './commands.ts';
import { GenerationService, type GenerationOptions, type GeneratorInfo } from './generation.ts';
import { WorkerRenderer, inlineRenderer, type Renderer } from './render-pool.ts';
import { createRouter, type Router } from './router.ts';
import { designGridOptions } from './design-message.ts';
import { Store } from './store.ts';
import type { BotCommand, BotContext } from './types.ts';
import type { LeaseService } from '../trainer/lease-service.ts';
import type { ManifestWatcher } from '../trainer/manifest-watch.ts';
import type { TrainingScheduler } from '../trainer/scheduler.ts';
import {
  followManifest,
  setUpTraining,
  type BotTraining,
  type ManifestOption,
  type TrainerOption,
} from './bot-training.ts';
import { chooseServedCheckpoint } from '../trainer/served.ts';
import type { VoteEvent } from './votes.ts';
import { startVoteService, type VoteService } from './vote-service.ts';
import { Admins, loadApplicationAdmins } from './admins.ts';
import { ShutdownSteps } from './shutdown-steps.ts';
import { guardDesignIds } from '../db/design-id-mark.ts';
import { parseDatabaseUrl } from '../db/paths.ts';

export interface BotOptions {
  config: Config;
  log?: Logger;
  /** An open database; default: openDatabase(config.DATABASE_URL), closed on stop. */
  db?: PrismaClient;
  /** The generator to start with; default: the active checkpoint under MODELS_DIR (none is allowed). */
  generator?: GeneratorInfo | null;
  generation?: GenerationOptions;
  commandsDir?: string;
  /** Scheduled training: false disables it; an object overrides scheduler options. Default: on. */
  trainer?: TrainerOption;
  /** PNG renderer; default a worker thread ('inline' renders on the event loop). */
  renderer?: Renderer | 'inline';
  /** Follow models/manifest.json changes made outside the bot (default true when the generator comes from MODELS_DIR). */
  watchManifest?: ManifestOption;
  /** Register slash commands once ready (default true). */
  registerCommands?: boolean;
  onVote?: (e: VoteEvent) => void;
}

export interface Bot {
  client: Client;
  ctx: BotContext;
  router: Router;
  commands: Map<string, BotCommand>;
  /** Resolves once the gateway is ready and commands are registered. */
  ready: Promise<void>;
  /** Follows models/manifest.json (absent when disabled). */
  manifestWatcher?: ManifestWatcher;
  /** The trainer lease contender (TRAINER_MODE auto|local); its scheduler trains only while it holds the lease. */
  leaseService?: LeaseService;
  /** This process's scheduler (absent with TRAINER_MODE=off or training disabled). */
  scheduler?: TrainingScheduler;
  /** Reaction votes: the ordered writer and the reconcile. */
  votes: VoteService;
  /** Graceful shutdown (see stop()). */
  stop(): Promise<void>;
  /** The shutdown steps not finished yet (for the shutdown deadline's log line). */
  unfinishedShutdown(): string[];
}

/** What stop() does, in order. */
const SHUTDOWN_STEPS = [
  'answer interactions in flight',
  'close the Discord gateway',
  'store the votes received',
  'stop the trainer (checkpoint)',
  'free the generator',
  'stop the image renderer',
  'close the database',
] as const;

export async function startBot(opts: BotOptions): Promise<Bot> {
  const { config } = opts;
  const log = opts.log ?? rootLog();
  if (!config.DISCORD_TOKEN) throw new Error('DISCORD_TOKEN is not set');
  registerSecret(config.DISCORD_TOKEN);

  const backend = await initTf(config.TF_BACKEND);
  log.info({ backend: backend.name, label: backend.label, reason: backend.reason }, 'TensorFlow.js backend');
  const storage = await openStorage(opts, log);
  const { db } = storage;
  const store = new Store(db);

  // The application's owners join once the gateway is ready (loadApplicationAdmins in connect).
  const admins = new Admins(config.ADMIN_USER_IDS);
  const generation = new GenerationService({
    isExempt: (id) => admins.has(id),
    rateLimit: { count: config.SHOE_RATE_PER_MINUTE, windowMs: 60_000 },
    maxQueue: config.SHOE_QUEUE_MAX,
    log: log.child({ part: 'generation' }),
    ...opts.generation,
  });
  const activeProblem = await serveFirstGenerator(opts, db, generation, log);

  const commands = await loadCommands(opts.commandsDir);
  const client = createClient({ apiBase: config.DISCORD_API_BASE });
  const training = setUpTraining(opts, db, generation, log);
  const ctx: BotContext = {
    config,
    log,
    client,
    store,
    generation,
    renderer:
      opts.renderer === 'inline'
        ? inlineRenderer()
        : (opts.renderer ?? new WorkerRenderer(log.child({ part: 'render' }))),
    isAdmin: (id) => admins.has(id),
    activeProblem,
    training: training.route,
  };
  await warmRenderer(ctx);
  const datasetProblem = training.scheduler?.datasetProblem();
  if (datasetProblem) log.warn({ reason: datasetProblem }, NO_DATASET_WARNING);
  const manifestWatcher = followManifest(opts, ctx, db, training);
  const router = createRouter(commands, ctx);
  listen(client, router, log);
  // Reconciles on its own after clientReady (in the background: ready never waits for it).
  const votes = startVoteService(client, store, config, log.child({ part: 'votes' }), { onVote: opts.onVote });
  const ready = connect(client, opts, { admins, commands, training, log });
  const shutdown = shutdownPlan({ ctx, router, votes, training, manifestWatcher, storage });
  const { leaseService, scheduler } = training;
  return { client, ctx, router, commands, ready, manifestWatcher, votes, leaseService, scheduler, ...shutdown };
}

const NO_DATASET_WARNING =
  'no training dataset: /train run and scheduled runs will refuse until it exists (/shoe works)';

interface BotStorage {
  db: PrismaClient;
  /** Opened here (and so closed by stop()), not handed in. */
  ownsDb: boolean;
  designIds: { close(): Promise<void> };
}

/** The database, opened unless given, and the design-id guard, taken before anything hands out a design id. */
async function openStorage(opts: BotOptions, log: Logger): Promise<BotStorage> {
  const { config } = opts;
  const ownsDb = !opts.db;
  const db = opts.db ?? (await openDatabase(config.DATABASE_URL));
  // Never reuse the ids old messages show.
  const designIds = await guardDesignIds(db, {
    modelsDir: config.MODELS_DIR,
    dbDisplay: parseDatabaseUrl(config.DATABASE_URL).display,
    allowNewDatabase: config.ALLOW_NEW_DATABASE,
    log,
  }).catch(async (err: unknown) => {
    if (ownsDb) await db.$disconnect();
    throw err;
  });
  return { db, ownsDb, designIds };
}

/**
 * Logs in; resolves once the gateway is ready, the application's owners are admins, commands are
 * registered (shard 0 only when sharded) and the trainer lease is contended for.
 */
function connect(
  client: Client,
  opts: BotOptions,
  parts: { admins: Admins; commands: Map<string, BotCommand>; training: BotTraining; log: Logger },
): Promise<void> {
  const { config } = opts;
  const { admins, commands, training, log } = parts;
  return new Promise<void>((resolve, reject) => {
    client.once('clientReady', async (c) => {
      const shards = c.shard ? { shards: c.shard.ids, shardCount: c.shard.count } : {};
      log.info({ user: c.user.tag, guilds: c.guilds.cache.size, ...shards }, 'connected to Discord');
      // Before resolving ready, so the owner is an admin from the first interaction on; beside registration, not after it.
      const ownersLoaded = config.ADMIN_APP_OWNERS ? loadApplicationAdmins(c, admins, log) : Promise.resolve();
      // Sharded (npm run start:shards): shard 0 registers for all, once.
      if (opts.registerCommands !== false && (!c.shard || c.shard.ids.includes(0)))
        await register(c, commands, config, log);
      await ownersLoaded;
      if (training.leaseService) await training.leaseService.start();
      else training.scheduler?.start();
      resolve();
    });
    client.login(config.DISCORD_TOKEN).catch(reject);
  });
}

/**
 * stop(): stops accepting work, finishes interactions in flight, closes the gateway, stores the
 * votes, lets a running trainer write its checkpoint, frees the generator and closes the database.
 * Safe to call twice.
 */
function shutdownPlan(parts: {
  ctx: BotContext;
  router: Router;
  votes: VoteService;
  training: BotTraining;
  manifestWatcher: ManifestWatcher | undefined;
  storage: BotStorage;
}): Pick<Bot, 'stop' | 'unfinishedShutdown'> {
  const { ctx, router, votes, training, manifestWatcher, storage } = parts;
  const { log } = ctx;
  const steps = new ShutdownSteps(SHUTDOWN_STEPS);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info('shutting down');
      router.stopAccepting();
      await steps.run('answer interactions in flight', () =>
        Promise.race([router.drain(), new Promise((r) => setTimeout(r, 20_000).unref())]),
      );
      manifestWatcher?.close();
      await steps.run('close the Discord gateway', () => ctx.client.destroy());
      await steps.run('store the votes received', () => votes.stop());
      await steps.run('stop the trainer (checkpoint)', () =>
        training.leaseService ? training.leaseService.stop() : training.scheduler?.stop(),
      );
      await steps.run('free the generator', () => ctx.generation.close());
      await steps.run('stop the image renderer', () => ctx.renderer.close());
      await steps.run('close the database', async () => {
        await storage.designIds.close();
        if (storage.ownsDb) await storage.db.$disconnect();
      });
      log.info('shut down');
    })());
  return { stop, unfinishedShutdown: () => steps.unfinished };
}

/**
 * Puts the first generator into service: the one given, else the checkpoint chosen by the rule
 * shared with the lease service (src/trainer/served.ts): a corrupt active checkpoint falls back to
 * the newest previously served one; the trainer then continues from exactly that version. Returns
 * the problem to show in /train status when it fell back.
 */
async function serveFirstGenerator(
  opts: BotOptions,
  db: PrismaClient,
  generation: GenerationService,
  log: Logger,
): Promise<BotContext['activeProblem']> {
  let generator = opts.generator;
  let activeProblem: BotContext['activeProblem'];
  if (generator === undefined) {
    const choice = await chooseServedCheckpoint(opts.config.MODELS_DIR, db, log);
    generator = choice.generator;
    activeProblem = choice.problem;
    if (!generator)
      log.warn({ reason: choice.reason }, 'no generator loaded: /shoe will explain until a checkpoint is trained');
  }
  if (generator) await generation.swap(generator);
  return activeProblem;
}

/**
 * Renders one /shoe grid before the bot answers anything: the render worker's start (thread,
 * sharp, label fonts: ~0.3 s here) would otherwise fall on the first member's /shoe.
 */
async function warmRenderer(ctx: BotContext): Promise<void> {
  const g = ctx.generation.active?.config;
  const shape = { n: 4, h: g?.imageSize ?? 64, w: g?.imageSize ?? 64, c: g?.channels ?? 3 };
  try {
    await ctx.renderer.grid(new Float32Array(shape.n * shape.h * shape.w * shape.c), shape, designGridOptions(4));
  } catch (err) {
    ctx.log.warn({ err }, 'render warm-up failed (the first image will be slower)');
  }
}

/** Routes interactions and logs what the gateway says. */
function listen(client: Client, router: Router, log: Logger): void {
  client.on('interactionCreate', (i) => void router.handle(i));
  client.on('error', (err) => log.error({ err }, 'discord client error'));
  client.on('warn', (msg) => log.warn({ msg }, 'discord client warning'));
  client.on('shardDisconnect', (ev, shard) => log.warn({ code: ev.code, shard }, 'gateway disconnected'));
  client.on('shardResume', (shard, replayed) => log.info({ shard, replayed }, 'gateway resumed'));
}

/** Registers the slash commands; a failure is logged (the bot still answers commands registered earlier). */
async function register(
  c: Client<true>,
  commands: Map<string, BotCommand>,
  config: Config,
  log: Logger,
): Promise<void> {
  try {
    const r = await registerCommands(c.rest, c.application.id, commands.values(), config.DISCORD_GUILD_ID);
    log.info(r, 'slash commands registered');
  } catch (err) {
    log.error({ err }, 'could not register slash commands');
  }
}
