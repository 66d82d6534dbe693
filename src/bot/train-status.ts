/**
 * The text and loss plot of `/train status`: the trainer's state, the active checkpoint, the run in
 * progress, the last run, quality per checkpoint, the backend and the next scheduled run. The same
 * rendering for a snapshot built here (this process trains) and one the lease holder published
 * (plus where it runs and how fresh it is).
 */
import type { AttachmentPayload } from 'discord.js';
import { readCheckpointMeta } from '../gan/checkpoint-load.ts';
import { type CheckpointMetrics } from '../gan/quality.ts';
import { DEFAULT_TRAIN_OPTIONS, describeExtras, type TrainOptions } from '../gan/recipe.ts';
import { renderLossPlot, type LossPoint } from '../render/loss-plot.ts';
import { backendInfo } from '../tf/index.ts';
import { checkpointStatuses } from '../trainer/checkpoint-statuses.ts';
import type { RemoteTrainerStatus, TrainingControl } from '../trainer/control.ts';
import { formatDuration } from '../trainer/duration.ts';
import type { LastRunInfo } from '../trainer/run-record.ts';
import type { TrainerSnapshot } from '../trainer/snapshot.ts';
import { steeringStatusLine } from './community.ts';
import type { BotContext } from './types.ts';

/** Discord allows 2000 characters; the rest is cut with an ellipsis. */
const MAX_CONTENT = 1950;

function quality(m: CheckpointMetrics | undefined): string {
  if (!m) return 'n/a';
  const parts: string[] = [];
  if (typeof m.fid === 'number') parts.push(`FID ${m.fid.toFixed(1)}`);
  if (typeof m.kid === 'number')
    parts.push(`KID ${m.kid.toPrecision(3)}${typeof m.kidSe === 'number' ? ` ± ${m.kidSe.toPrecision(2)}` : ''}`);
  if (typeof m.sneakerShare === 'number') parts.push(`sneakers ${(m.sneakerShare * 100).toFixed(0)}%`);
  // Which features the figures are on: a perceptual backbone for colour models, the Fashion-MNIST classifier for grey ones.
  if (parts.length && typeof m.metric === 'string') parts.push(`on ${m.metric}`);
  return parts.join(', ') || 'not measured';
}

/** What this process serves, read once per status (a swap may happen while it is built). */
type Served = BotContext['generation']['active'];

const num = (x: number | undefined, d = 3) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : 'n/a');

/** One line on where the trainer runs, for a process that does not hold the lease. */
function remoteLine(st: RemoteTrainerStatus): string {
  const ts = (d?: Date) => (d ? `<t:${Math.floor(d.getTime() / 1000)}:R>` : 'an unknown time');
  if (st.never)
    return 'Trainer: none has run against this database yet (start `npm run trainer`, or a bot with TRAINER_MODE=auto).';
  if (st.released) return `Trainer: stopped — the last one ran on \`${st.host}\` and shut down ${ts(st.heartbeatAt)}.`;
  const age = formatDuration(Math.max(0, st.ageMs ?? 0));
  if (st.alive && st.clockSkew) {
    return `Trainer: on \`${st.host}\` (TRAINER_MODE=${st.snapshot?.mode ?? '?'}) · heartbeating, but its clock differs from this bot's by about ${age}: keep the machines' clocks in sync (NTP)`;
  }
  if (st.alive) return `Trainer: on \`${st.host}\` (TRAINER_MODE=${st.snapshot?.mode ?? '?'}) · snapshot ${age} old`;
  return `⚠️ Trainer on \`${st.host}\` not responding since ${ts(st.heartbeatAt)} (no heartbeat for ${age}); its last snapshot follows.`;
}

/** The state word: the snapshot's, or what is known about a trainer elsewhere. */
function stateLine(snap: TrainerSnapshot | undefined, remote: RemoteTrainerStatus | undefined): string {
  let state: string = snap ? snap.state : remote ? 'unknown (no status published yet)' : 'disabled';
  if (remote && !remote.alive)
    state =
      remote.never || remote.released
        ? 'no trainer running'
        : `not responding (last known: ${snap?.state ?? 'unknown'})`;
  return `State: **${state}**`;
}

/** What the status says about the served checkpoint; its loss history and recipe come from its metadata. */
async function activeSection(
  ctx: BotContext,
  active: Served,
  snap: TrainerSnapshot | undefined,
  remote: RemoteTrainerStatus | undefined,
) {
  const lines: string[] = [];
  let history: LossPoint[] = [];
  let trainOptions: Record<string, unknown> | undefined;
  if (active) {
    lines.push(
      `Active checkpoint: \`${active.version}\` · step ${active.step} · ` +
        `${active.createdAt ? `${formatDuration(Date.now() - Date.parse(active.createdAt))} old` : 'age unknown'} · ` +
        quality(active.metrics),
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
      `⚠️ manifest.json names \`${problem.version ?? '?'}\` but it failed to load at start-up ` +
        `(${problem.reason.slice(0, 200)}); serving the newest good checkpoint, \`${problem.fallback}\`. ` +
        'Fix with `/train rollback` or `npm run train -- --activate <version>`.',
    );
  }
  const datasetProblem = snap?.datasetProblem;
  if (datasetProblem)
    lines.push(
      `⚠️ Training is not possible yet${remote ? ` (on the trainer at \`${remote.host}\`)` : ''}: ${datasetProblem}.`,
    );
  return { lines, history, trainOptions };
}

/** The run in progress: step, ETA, speed and last losses. */
function runLines(run: NonNullable<TrainerSnapshot['run']>): string[] {
  const p = run.progress;
  const lines = [
    p
      ? `Current run #${run.runId} (${run.trigger}): step ${p.step}/${p.targetStep} · ` +
        `${Math.round((p.runStepsDone / Math.max(1, p.runStepsTotal)) * 100)}% · ` +
        `ETA ${formatDuration(p.etaSeconds * 1000)} · ${num(p.imagesPerSecond, 1)} img/s`
      : `Current run #${run.runId} (${run.trigger}): starting, ${formatDuration(Date.now() - run.startedAt)} ago`,
  ];
  if (p) {
    lines.push(
      `Last losses: D ${num(p.lossD)} · G ${num(p.lossG)} · D(x) ${num(p.dReal, 2)} · D(G(z)) ${num(p.dFake, 2)} · freeze rate ${(p.freezeRate * 100).toFixed(0)}%`,
    );
  }
  return lines;
}

/** The recipe of the run (or of the active checkpoint): the seed's two tricks and what goes beyond them. */
function recipeLine(trainOptions: Record<string, unknown>): string {
  const smoothing = trainOptions.labelSmoothing === false ? 'off' : `on (real = ${trainOptions.realLabel ?? 0.9})`;
  const freezing = trainOptions.freezing === false ? 'off' : `on (ratio ${trainOptions.freezeRatio ?? 0.7})`;
  const extras = describeExtras({ ...DEFAULT_TRAIN_OPTIONS, ...(trainOptions as Partial<TrainOptions>) });
  return `Label smoothing: ${smoothing} · freezing: ${freezing} · beyond the seed's recipe: ${extras}`;
}

/** The last finished run: from the snapshot, else the newest TrainingRun row. */
async function lastRunLine(ctx: BotContext, snap: TrainerSnapshot | undefined): Promise<string> {
  const last: LastRunInfo | undefined = snap?.lastRun ?? (await latestFinishedRun(ctx));
  if (!last) return 'Last run: none yet';
  return (
    `Last run #${last.runId}: **${last.status}** · ${last.steps} steps in ${formatDuration(last.endedAt - last.startedAt)} · ${num(last.imagesPerSecond, 1)} img/s` +
    (last.checkpointVersion ? ` · checkpoint \`${last.checkpointVersion}\`` : '') +
    (last.gate ? ` · ${last.gate}` : '') +
    (last.error ? `\n  error: ${last.error.slice(0, 300)}` : '')
  );
}

async function latestFinishedRun(ctx: BotContext): Promise<LastRunInfo | undefined> {
  const r = await ctx.store.db.trainingRun.findFirst({
    where: { NOT: { status: 'running' } },
    orderBy: { id: 'desc' },
  });
  if (!r) return undefined;
  return {
    runId: r.id,
    status: r.status,
    trigger: r.trigger,
    startedAt: r.startedAt.getTime(),
    endedAt: (r.endedAt ?? r.startedAt).getTime(),
    steps: r.steps,
    imagesPerSecond: r.imagesPerSecond ?? undefined,
    error: r.error ?? undefined,
    checkpointVersion: r.checkpointVersion ?? undefined,
    gate: undefined,
  };
}

/** The newest checkpoints with status and quality (the one that failed to load at start-up says so). */
async function checkpointLines(ctx: BotContext, active: Served): Promise<string[]> {
  const problem = ctx.activeProblem;
  const cps = (await checkpointStatuses(ctx.config.MODELS_DIR, ctx.store.db, active?.version)).slice(-8).reverse();
  if (!cps.length) return [];
  const lines = ['Checkpoints (newest first):'];
  for (const c of cps) {
    const broken = problem && c.version === problem.version && c.version !== active?.version;
    const st = broken ? 'unusable (failed to load at start-up)' : c.status;
    lines.push(`• \`${c.version}\` · ${st} · step ${c.step} · ${c.error ? 'unusable' : quality(c.metrics)}`);
  }
  return lines;
}

/** The whole `/train status` reply: text (at most MAX_CONTENT characters) and the loss plot. */
export async function trainStatusReply(
  ctx: BotContext,
  guildId: string | null,
  control: TrainingControl | undefined,
): Promise<{ content: string; files: AttachmentPayload[] }> {
  const { snapshot: snap, remote } = control ? await control.status() : {};
  const served = ctx.generation.active;
  const lines: string[] = ['**Shoebot training**', stateLine(snap, remote)];
  if (remote) lines.push(remoteLine(remote));
  const active = await activeSection(ctx, served, snap, remote);
  lines.push(...active.lines);
  let { history, trainOptions } = active;
  const run = snap?.run;
  if (run) {
    if (run.config) trainOptions = run.config;
    lines.push(...runLines(run));
    const h = snap?.history ?? [];
    if (h.length) history = [...history.filter((x) => x.step < h[0].step), ...h];
  }
  if (trainOptions) lines.push(recipeLine(trainOptions));
  const backend = backendInfo();
  lines.push(`Backend: ${backend ? `${backend.label} — ${backend.reason}` : 'not initialised'}`);
  if (remote && snap) {
    const tb = snap.backend;
    lines.push(
      `Trainer backend: ${run?.backend ?? tb?.label ?? 'unknown'}${tb && !run?.backend ? ` — ${tb.reason}` : ''}`,
    );
  }
  const next = snap?.nextRun ? new Date(snap.nextRun) : null;
  lines.push(await steeringStatusLine(ctx.store, guildId, ctx.generation.active));
  lines.push(
    `Next scheduled run: ${next && (!remote || remote.alive) ? `<t:${Math.floor(next.getTime() / 1000)}:R> (\`${snap?.cron ?? ctx.config.TRAIN_CRON}\`)` : 'not scheduled'}`,
  );
  lines.push(await lastRunLine(ctx, snap));
  if (control) lines.push(...(await checkpointLines(ctx, served)));

  const plot = await renderLossPlot(history, { title: `LOSSES ${served?.version ?? ''}`.trim() });
  let content = lines.join('\n');
  if (content.length > MAX_CONTENT) content = content.slice(0, MAX_CONTENT) + '…';
  return { content, files: [{ attachment: plot, name: 'losses.png' }] };
}
