/**
 * /train status|run|stop|rollback — admins only (ADMIN_USER_IDS). Status shows
 * the trainer's state, the active checkpoint, the run in progress, the last
 * run, quality per checkpoint, the backend, the next scheduled run and a loss
 * plot as a PNG.
 */
import { MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { readCheckpointMeta, type CheckpointMetrics } from '../src/gan/checkpoint.ts';
import { renderLossPlot, type LossPoint } from '../src/render/grid.ts';
import { backendInfo } from '../src/tf/index.ts';
import { intOption } from '../src/bot/design-message.ts';
import { UserError } from '../src/bot/errors.ts';
import type { BotContext } from '../src/bot/types.ts';
import { MAX_TRAIN_STEPS } from '../src/bot/trainer-runner.ts';

export const data = new SlashCommandBuilder()
  .setName('train')
  .setDescription('Training of the sneaker GAN (admins)')
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
  if (typeof m.kid === 'number') parts.push(`KID ${m.kid.toPrecision(3)}`);
  if (typeof m.fid === 'number') parts.push(`FID ${m.fid.toFixed(1)}`);
  if (typeof m.sneakerShare === 'number') parts.push(`sneakers ${(m.sneakerShare * 100).toFixed(0)}%`);
  return parts.join(', ') || 'not measured';
}

const num = (x: number | undefined, d = 3) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : 'n/a');

async function status(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const trainer = ctx.trainer;
  const active = ctx.generation.active;
  const backend = backendInfo();
  const lines: string[] = ['**Shoebot training**'];
  const run = trainer?.currentRun;
  lines.push(`State: **${trainer ? trainer.state : 'disabled'}**`);

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
  const problem = ctx.activeProblem;
  if (problem) {
    lines.push(
      `⚠️ manifest.json names \`${problem.version ?? '?'}\` but it failed to load at start-up (${problem.reason.slice(0, 200)}); serving the newest good checkpoint, \`${problem.fallback}\`. Fix with \`/train rollback\` or \`npm run train -- --activate <version>\`.`,
    );
  }
  const datasetProblem = trainer?.datasetProblem();
  if (datasetProblem) lines.push(`⚠️ Training is not possible yet: ${datasetProblem}.`);

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
    if (run.history.length) history = [...history.filter((h) => h.step < run.history[0].step), ...run.history];
  }
  if (trainOptions) {
    const smoothing = trainOptions.labelSmoothing === false ? 'off' : `on (real = ${trainOptions.realLabel ?? 0.9})`;
    const freezing = trainOptions.freezing === false ? 'off' : `on (ratio ${trainOptions.freezeRatio ?? 0.7})`;
    lines.push(`Label smoothing: ${smoothing} · freezing: ${freezing}`);
  }
  lines.push(`Backend: ${backend ? `${backend.label} — ${backend.reason}` : 'not initialised'}`);
  const next = trainer?.nextRun();
  lines.push(`Next scheduled run: ${next ? `<t:${Math.floor(next.getTime() / 1000)}:R> (\`${ctx.config.TRAIN_CRON}\`)` : 'not scheduled'}`);

  const last = trainer?.lastRun ?? (await ctx.store.db.trainingRun.findFirst({ where: { NOT: { status: 'running' } }, orderBy: { id: 'desc' } }).then((r) =>
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

  if (trainer) {
    const cps = (await trainer.checkpoints()).slice(-8).reverse();
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

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  if (!ctx.isAdmin(interaction.user.id)) {
    throw new UserError('Only shoebot admins can use `/train` (ask the operator to add your user id to ADMIN_USER_IDS).');
  }
  const sub = interaction.options.getSubcommand(false);
  if (sub === 'status') return status(interaction, ctx);
  const trainer = ctx.trainer;
  if (!trainer) throw new UserError('Training is disabled in this shoebot.');
  if (sub === 'run') {
    const steps = intOption(interaction.options.get('steps')?.value, 'steps', 1, MAX_TRAIN_STEPS);
    const r = trainer.runNow('admin', steps);
    if (r.noDataset) throw new UserError(`Not started: ${r.reason}.`);
    if (!r.started) throw new UserError(`Not started: ${r.reason}. See \`/train status\`.`);
    await interaction.reply({
      content: `Training started (${steps ?? ctx.config.TRAIN_STEPS} steps, continuing from \`${ctx.generation.active?.version ?? 'scratch'}\`). Follow it with \`/train status\`.`,
      flags: MessageFlags.Ephemeral,
    });
    return;
  }
  if (sub === 'stop') {
    if (!trainer.requestStop()) throw new UserError('No training run is going.');
    await interaction.reply({ content: 'Stopping: the trainer finishes its step and writes a checkpoint.', flags: MessageFlags.Ephemeral });
    return;
  }
  if (sub === 'rollback') {
    const version = interaction.options.getString('version') ?? undefined;
    if (version !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$/.test(version)) throw new UserError('That is not a checkpoint version (see `/train status`).');
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
