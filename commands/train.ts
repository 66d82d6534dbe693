/**
 * /train status|run|stop|rollback — shoebot admins (the application's owner or team, and
 * ADMIN_USER_IDS); a server's administrators may read status too, but training changes the model
 * every server sees, so only shoebot admins run, stop or roll it back. Discord shows the command
 * only to server administrators (default_member_permissions). Status shows
 * the trainer's state, the active checkpoint, the run in progress, the last
 * run, quality per checkpoint, the backend, the next scheduled run and a loss
 * plot as a PNG.
 *
 * The trainer runs in whichever process holds the trainer lease (src/trainer).
 * Here, when that is this process, the local TrainerRunner answers; otherwise
 * status renders the holder's published snapshot (same format, plus where it
 * runs and how fresh it is) and run|stop|rollback become requests the holder
 * carries out.
 */
import os from 'node:os';
import { MessageFlags, PermissionFlagsBits, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { readCheckpointMeta } from '../src/gan/checkpoint-load.ts';
import type { CheckpointMetrics } from '../src/gan/quality.ts';
import { DEFAULT_TRAIN_OPTIONS, describeExtras, type TrainOptions } from '../src/gan/recipe.ts';
import { renderLossPlot, type LossPoint } from '../src/render/grid.ts';
import { backendInfo } from '../src/tf/index.ts';
import { intOption, stringOption } from '../src/bot/design-message.ts';
import { UserError } from '../src/bot/errors.ts';
import type { BotContext } from '../src/bot/types.ts';
import { steeringStatusLine } from '../src/bot/community.ts';
import { MAX_TRAIN_STEPS, checkpointStatuses, type TrainerRunner } from '../src/bot/trainer-runner.ts';
import { buildSnapshot, type TrainerSnapshot } from '../src/trainer/snapshot.ts';
import type { RemoteTrainerStatus } from '../src/trainer/remote.ts';
import { NO_RUN_MESSAGE, STOPPING_MESSAGE, runStartedMessage } from '../src/trainer/service.ts';
import type { TrainerAction } from '../src/db/trainer-lease.ts';

export const data = new SlashCommandBuilder()
  .setName('train')
  .setDescription('Training of the sneaker GAN (admins)')
  // Hidden from members who are not server administrators; the bot still checks who is a shoebot admin.
  .setDefaultMemberPermissions(PermissionFlagsBits.Administrator)
  .addSubcommand((s) => s.setName('status').setDescription('Trainer state, checkpoints, losses and a loss plot'))
  .addSubcommand((s) =>
    s
      .setName('run')
      .setDescription('Start a training run now')
      .addIntegerOption((o) => o.setName('steps').setDescription('Steps to train (default TRAIN_STEPS)').setMinValue(1).setMaxValue(MAX_TRAIN_STEPS)),
  )
  .addSubcommand((s) => s.setName('stop').setDescription('Stop the running training (it writes a checkpoint)'))
  .addSubcommand((s) =>
    s
      .setName('rollback')
      .setDescription('Switch back to an earlier checkpoint')
      .addStringOption((o) => o.setName('version').setDescription('Checkpoint version (default: the one before the active)').setMaxLength(90)),
  );

/** "3 h 12 min", "45 s". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

function quality(m: CheckpointMetrics | undefined): string {
  if (!m) return 'n/a';
  const parts: string[] = [];
  if (typeof m.fid === 'number') parts.push(`FID ${m.fid.toFixed(1)}`);
  if (typeof m.kid === 'number') parts.push(`KID ${m.kid.toPrecision(3)}${typeof m.kidSe === 'number' ? ` ± ${m.kidSe.toPrecision(2)}` : ''}`);
  if (typeof m.sneakerShare === 'number') parts.push(`sneakers ${(m.sneakerShare * 100).toFixed(0)}%`);
  // Which features the figures are on: a perceptual backbone for colour models, the Fashion-MNIST classifier for grey ones.
  if (parts.length && typeof m.metric === 'string') parts.push(`on ${m.metric}`);
  return parts.join(', ') || 'not measured';
}

const num = (x: number | undefined, d = 3) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : 'n/a');

/** The runner that answers here: this process's, when it holds the trainer lease (or has no lease to care about). */
function localRunner(ctx: BotContext): TrainerRunner | undefined {
  if (!ctx.trainer) return undefined;
  return !ctx.trainerService || ctx.trainerService.holding ? ctx.trainer : undefined;
}

/** One line on where the trainer runs, for a process that does not hold the lease. */
function remoteLine(st: RemoteTrainerStatus): string {
  const ts = (d?: Date) => (d ? `<t:${Math.floor(d.getTime() / 1000)}:R>` : 'an unknown time');
  if (st.never) return 'Trainer: none has run against this database yet (start `npm run trainer`, or a bot with TRAINER_MODE=auto).';
  if (st.released) return `Trainer: stopped — the last one ran on \`${st.host}\` and shut down ${ts(st.heartbeatAt)}.`;
  const age = formatDuration(Math.max(0, st.ageMs ?? 0));
  if (st.alive && st.clockSkew) {
    return `Trainer: on \`${st.host}\` (TRAINER_MODE=${st.snapshot?.mode ?? '?'}) · heartbeating, but its clock differs from this bot's by about ${age}: keep the machines' clocks in sync (NTP)`;
  }
  if (st.alive) return `Trainer: on \`${st.host}\` (TRAINER_MODE=${st.snapshot?.mode ?? '?'}) · snapshot ${age} old`;
  return `⚠️ Trainer on \`${st.host}\` not responding since ${ts(st.heartbeatAt)} (no heartbeat for ${age}); its last snapshot follows.`;
}

/** What an admin is told when no process can carry out a request. */
function noTrainerMessage(st: RemoteTrainerStatus): string {
  const start = 'Start one with `npm run trainer` (see README), or a bot with TRAINER_MODE=auto.';
  if (st.never || st.released) return `No trainer is running for this shoebot. ${start}`;
  return `The trainer on \`${st.host}\` is not responding (no heartbeat for ${formatDuration(st.ageMs ?? 0)}). ${start}`;
}

async function status(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const runner = localRunner(ctx);
  let remote: RemoteTrainerStatus | undefined;
  let snap: TrainerSnapshot | undefined;
  if (runner) {
    const svc = ctx.trainerService;
    const b = backendInfo();
    snap = buildSnapshot(runner, {
      host: svc?.host ?? os.hostname(),
      ownerId: svc?.ownerId ?? '',
      mode: ctx.config.TRAINER_MODE,
      cron: ctx.config.TRAIN_CRON,
      ...(b ? { backend: { label: b.label, reason: b.reason } } : {}),
    });
  } else if (ctx.trainerRemote) {
    remote = await ctx.trainerRemote.status();
    snap = remote.snapshot;
  }
  const active = ctx.generation.active;
  const backend = backendInfo();
  const lines: string[] = ['**Shoebot training**'];
  const run = snap?.run;
  let state: string = snap ? snap.state : remote ? 'unknown (no status published yet)' : 'disabled';
  if (remote && !remote.alive) state = remote.never || remote.released ? 'no trainer running' : `not responding (last known: ${snap?.state ?? 'unknown'})`;
  lines.push(`State: **${state}**`);
  if (remote) lines.push(remoteLine(remote));

  let history: LossPoint[] = [];
  let trainOptions: Record<string, unknown> | undefined;
  if (active) {
    lines.push(
      `Active checkpoint: \`${active.version}\` · step ${active.step} · ${active.createdAt ? `${formatDuration(Date.now() - Date.parse(active.createdAt))} old` : 'age unknown'} · ${quality(active.metrics)}`,
    );
    try {
      const meta = await readCheckpointMeta(ctx.config.MODELS_DIR, active.version);
      history = meta.trainer.history.map((p) => ({ step: p.step, lossD: p.lossD, lossG: p.lossG }));
      trainOptions = meta.trainer.trainOptions as unknown as Record<string, unknown>;
    } catch {
      /* a generator given in memory (tests) or a checkpoint without metadata */
    }
  } else {
    lines.push('Active checkpoint: none (run `/train run` to train one)');
  }
  if (remote && snap?.active && snap.active.version !== active?.version) {
    lines.push(`The trainer published \`${snap.active.version}\`: this bot switches to it once it verifies.`);
  }
  const problem = ctx.activeProblem;
  if (problem) {
    lines.push(
      `⚠️ manifest.json names \`${problem.version ?? '?'}\` but it failed to load at start-up (${problem.reason.slice(0, 200)}); serving the newest good checkpoint, \`${problem.fallback}\`. Fix with \`/train rollback\` or \`npm run train -- --activate <version>\`.`,
    );
  }
  const datasetProblem = snap?.datasetProblem;
  if (datasetProblem) lines.push(`⚠️ Training is not possible yet${remote ? ` (on the trainer at \`${remote.host}\`)` : ''}: ${datasetProblem}.`);

  if (run) {
    const p = run.progress;
    if (run.config) trainOptions = run.config;
    lines.push(
      p
        ? `Current run #${run.runId} (${run.trigger}): step ${p.step}/${p.targetStep} · ${Math.round((p.runStepsDone / Math.max(1, p.runStepsTotal)) * 100)}% · ETA ${formatDuration(p.etaSeconds * 1000)} · ${num(p.imagesPerSecond, 1)} img/s`
        : `Current run #${run.runId} (${run.trigger}): starting, ${formatDuration(Date.now() - run.startedAt)} ago`,
    );
    if (p) {
      lines.push(`Last losses: D ${num(p.lossD)} · G ${num(p.lossG)} · D(x) ${num(p.dReal, 2)} · D(G(z)) ${num(p.dFake, 2)} · freeze rate ${(p.freezeRate * 100).toFixed(0)}%`);
    }
    const h = snap?.history ?? [];
    if (h.length) history = [...history.filter((x) => x.step < h[0].step), ...h];
  }
  if (trainOptions) {
    const smoothing = trainOptions.labelSmoothing === false ? 'off' : `on (real = ${trainOptions.realLabel ?? 0.9})`;
    const freezing = trainOptions.freezing === false ? 'off' : `on (ratio ${trainOptions.freezeRatio ?? 0.7})`;
    const extras = describeExtras({ ...DEFAULT_TRAIN_OPTIONS, ...(trainOptions as Partial<TrainOptions>) });
    lines.push(`Label smoothing: ${smoothing} · freezing: ${freezing} · beyond the seed's recipe: ${extras}`);
  }
  lines.push(`Backend: ${backend ? `${backend.label} — ${backend.reason}` : 'not initialised'}`);
  if (remote && snap) {
    const tb = snap.backend;
    lines.push(`Trainer backend: ${run?.backend ?? tb?.label ?? 'unknown'}${tb && !run?.backend ? ` — ${tb.reason}` : ''}`);
  }
  const next = snap?.nextRun ? new Date(snap.nextRun) : null;
  lines.push(await steeringStatusLine(ctx.store, interaction.guildId, ctx.generation.active));
  lines.push(`Next scheduled run: ${next && (!remote || remote.alive) ? `<t:${Math.floor(next.getTime() / 1000)}:R> (\`${snap?.cron ?? ctx.config.TRAIN_CRON}\`)` : 'not scheduled'}`);

  const last = snap?.lastRun ?? (await ctx.store.db.trainingRun.findFirst({ where: { NOT: { status: 'running' } }, orderBy: { id: 'desc' } }).then((r) =>
    r
      ? {
          runId: r.id,
          status: r.status,
          trigger: r.trigger,
          startedAt: r.startedAt.getTime(),
          endedAt: (r.endedAt ?? r.startedAt).getTime(),
          steps: r.steps,
          imagesPerSecond: r.imagesPerSecond ?? undefined,
          error: r.error ?? undefined,
          checkpointVersion: r.checkpointVersion ?? undefined,
          gate: undefined as string | undefined,
        }
      : undefined,
  ));
  if (last) {
    lines.push(
      `Last run #${last.runId}: **${last.status}** · ${last.steps} steps in ${formatDuration(last.endedAt - last.startedAt)} · ${num(last.imagesPerSecond, 1)} img/s` +
        (last.checkpointVersion ? ` · checkpoint \`${last.checkpointVersion}\`` : '') +
        (last.gate ? ` · ${last.gate}` : '') +
        (last.error ? `\n  error: ${last.error.slice(0, 300)}` : ''),
    );
  } else {
    lines.push('Last run: none yet');
  }

  if (ctx.trainer || ctx.trainerRemote) {
    const cps = (await checkpointStatuses(ctx.config.MODELS_DIR, ctx.store.db, active?.version)).slice(-8).reverse();
    if (cps.length) {
      lines.push('Checkpoints (newest first):');
      for (const c of cps) {
        const broken = problem && c.version === problem.version && c.version !== active?.version;
        const st = broken ? 'unusable (failed to load at start-up)' : c.status;
        lines.push(`• \`${c.version}\` · ${st} · step ${c.step} · ${c.error ? 'unusable' : quality(c.metrics)}`);
      }
    }
  }

  const plot = await renderLossPlot(history, { title: `LOSSES ${active?.version ?? ''}`.trim() });
  let content = lines.join('\n');
  if (content.length > 1950) content = content.slice(0, 1950) + '…';
  await interaction.editReply({ content, files: [{ attachment: plot, name: 'losses.png' }] });
}

/** /train run|stop|rollback in a process that does not hold the lease: a request the holder carries out. */
async function viaTrainer(interaction: ChatInputCommandInteraction, ctx: BotContext, action: TrainerAction, argument: string | undefined): Promise<void> {
  const remote = ctx.trainerRemote!;
  // Deferred first: telling a slow heartbeat from a dead trainer may take a few seconds.
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const st = await remote.status();
  if (!st.alive) throw new UserError(noTrainerMessage(st));
  const r = await remote.request(action, argument, interaction.user.id);
  if (!r.outcome) {
    await interaction.editReply(`Queued as request #${r.id} for the trainer on \`${st.host}\`: it has not answered within a few seconds. Check \`/train status\` in a moment.`);
    return;
  }
  if (r.outcome !== 'done') throw new UserError(r.message ?? 'The trainer refused the request.');
  const note = action === 'rollback' ? ' Every bot process switches to it within a few seconds.' : '';
  await interaction.editReply(`${r.message}${note}`);
}

/** Whether the member administers the server the command was used in (never in DMs). */
function isServerAdmin(interaction: ChatInputCommandInteraction): boolean {
  return interaction.inGuild() && (interaction.memberPermissions?.has(PermissionFlagsBits.Administrator) ?? false);
}

/** `/train rollback version:`, read raw: a client may send any type (getString() would throw a TypeError). */
function rollbackVersion(value: unknown): string | undefined {
  const version = stringOption(value, 'version');
  if (version !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$/.test(version)) throw new UserError('That is not a checkpoint version (see `/train status`).');
  return version;
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const sub = interaction.options.getSubcommand(false);
  const botAdmin = ctx.isAdmin(interaction.user.id);
  if (sub === 'status' && (botAdmin || isServerAdmin(interaction))) return status(interaction, ctx);
  if (!botAdmin) {
    throw new UserError(
      isServerAdmin(interaction)
        ? "Only shoebot admins can run, stop or roll back training: it changes the model every server sees. Server admins may read `/train status`; the bot's owner can add your user id to ADMIN_USER_IDS."
        : "Only shoebot admins can use `/train` (the bot's owner, and the user ids in ADMIN_USER_IDS).",
    );
  }
  // Checked before anything else, so a bad value gets its own answer whatever the trainer's state.
  const version = sub === 'rollback' ? rollbackVersion(interaction.options.get('version')?.value) : undefined;
  const trainer = localRunner(ctx);
  if (!trainer && !ctx.trainerRemote) throw new UserError('Training is disabled in this shoebot.');
  if (sub === 'run') {
    const steps = intOption(interaction.options.get('steps')?.value, 'steps', 1, MAX_TRAIN_STEPS);
    if (!trainer) return viaTrainer(interaction, ctx, 'run', steps === undefined ? undefined : String(steps));
    const from = ctx.generation.active?.version;
    const r = await trainer.startRun('admin', steps);
    if (r.noDataset) throw new UserError(`Not started: ${r.reason}.`);
    if (!r.started) throw new UserError(`Not started: ${r.reason}. See \`/train status\`.`);
    await interaction.reply({ content: runStartedMessage(steps ?? ctx.config.TRAIN_STEPS, from), flags: MessageFlags.Ephemeral });
    return;
  }
  if (sub === 'stop') {
    if (!trainer) return viaTrainer(interaction, ctx, 'stop', undefined);
    if (!trainer.requestStop()) throw new UserError(NO_RUN_MESSAGE);
    await interaction.reply({ content: STOPPING_MESSAGE, flags: MessageFlags.Ephemeral });
    return;
  }
  if (sub === 'rollback') {
    if (!trainer) return viaTrainer(interaction, ctx, 'rollback', version);
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    let now: string;
    try {
      now = await trainer.rollback(version);
    } catch (err) {
      throw new UserError(`Rollback failed: ${(err as Error).message}`);
    }
    await interaction.editReply(`Active checkpoint is now \`${now}\`.`);
    return;
  }
  throw new UserError('Use `/train status`, `/train run`, `/train stop` or `/train rollback`.');
}
