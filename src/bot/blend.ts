/**
 * /blend: morph between two designs of this server. Their latents are joined
 * by spherical interpolation (src/gan/slerp.ts); the frames are drawn by the
 * generation service (batched with everybody else's requests, from the
 * checkpoint served right now), rendered in the worker thread as a looping
 * animation (a -> b -> a), and the middle frame is stored and posted as a new
 * votable design (kind 'blend', parents a and b).
 */
import type { AutocompleteInteraction, ButtonInteraction, ChatInputCommandInteraction, Message } from 'discord.js';
import { easedFractions, slerpPath } from '../gan/slerp.ts';
import { animationMime, pingPong, type AnimationFormat } from '../render/animation.ts';
import { MAX_DESIGN_ID } from './custom-id.ts';
import { admitThenDefer, designButtons } from './design-message.ts';
import { UserError } from './errors.ts';
import type { GenerationResult } from './generation.ts';
import { bytesToLatent, type DesignRow } from './store.ts';
import type { BotContext } from './types.ts';
import { voteEmojiFor } from './votes.ts';

/** Images from a to b, both included. Odd, so the exact midpoint is one of them. */
export const BLEND_STEPS = 17;
/** Frame side of the animation: Discord shows inline images up to ~400 px; 256 matches /shoe's tiles. */
export const BLEND_SIZE = 256;
/** ms per frame between the ends, and on each of the two designs (a pause so the eye finds them). */
export const FRAME_MS = 70;
export const END_MS = 600;

/**
 * Parses a design reference as the bot shows it: `#123`, `123` or
 * `design #123` (spaces allowed). Throws a UserError naming `option` otherwise.
 */
export function parseDesignRef(value: unknown, option: string): number {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : '';
  const m = /^\s*(?:design\s*)?#?\s*(\d{1,10})\s*$/i.exec(text);
  const id = m ? Number(m[1]) : NaN;
  if (!Number.isInteger(id) || id < 1 || id > MAX_DESIGN_ID) {
    const shown = text.trim() ? ` (got \`${text.trim().slice(0, 40).replace(/`/g, "'")}\`)` : '';
    throw new UserError(`\`${option}\` must be a design id as shown under every design, like \`#42\`${shown}.`);
  }
  return id;
}

/**
 * The design `id` if it belongs to this guild (or, in DMs, to the member's own DMs: `userId`).
 * Designs of other servers, and other members' DM designs, are "not found": their existence is
 * not revealed.
 */
export async function findGuildDesign(
  ctx: BotContext,
  id: number,
  guildId: string | null,
  userId?: string,
): Promise<DesignRow> {
  const d = await ctx.store.findDesign(id);
  if (!d || (d.guildId ?? null) !== guildId || !visibleInDm(d, guildId, userId)) {
    throw new UserError(
      `I can't find design #${id} ${guildId ? 'in this server' : 'here'}. Use the id shown under a design, like \`#42\`.`,
    );
  }
  return d;
}

/** Outside servers (guildId null) every DM design shares guildId null: only the member's own count. */
function visibleInDm(d: Pick<DesignRow, 'requesterId'>, guildId: string | null, userId: string | undefined): boolean {
  return guildId !== null || d.requesterId === userId;
}

export interface BlendParents {
  a: DesignRow;
  b: DesignRow;
  latA: Float32Array;
  latB: Float32Array;
}

/**
 * Resolves and checks the two references of a /blend (different designs of
 * this guild, latents of the served generator's size). Throws UserErrors.
 */
export async function resolveParents(
  ctx: BotContext,
  refA: unknown,
  refB: unknown,
  guildId: string | null,
  userId?: string,
): Promise<BlendParents> {
  const idA = parseDesignRef(refA, 'a');
  const idB = parseDesignRef(refB, 'b');
  if (idA === idB) throw new UserError(`Both \`a\` and \`b\` are design #${idA}: pick two different designs to blend.`);
  const a = await findGuildDesign(ctx, idA, guildId, userId);
  const b = await findGuildDesign(ctx, idB, guildId, userId);
  const latA = bytesToLatent(a.latent);
  const latB = bytesToLatent(b.latent);
  if (latA.length !== latB.length) {
    throw new UserError(
      `Design #${a.id} and design #${b.id} come from generators of different shapes (latent sizes ${latA.length} and ${latB.length}), so they cannot be blended.`,
    );
  }
  const nz = ctx.generation.active?.nz;
  if (nz !== undefined && latA.length !== nz) {
    throw new UserError(
      `Designs #${a.id} and #${b.id} were drawn by an older generator of a different shape (latent size ${latA.length}; the current one uses ${nz}), so they cannot be redrawn or blended.`,
    );
  }
  if (Buffer.from(a.latent).equals(Buffer.from(b.latent))) {
    // An upscale shares its design's latent: the "morph" would stand still.
    throw new UserError(
      `Design #${a.id} and design #${b.id} are the same sneaker (same latent): pick two different designs to blend.`,
    );
  }
  return { a, b, latA, latB };
}

export interface BlendDrawing {
  /** [steps, h, w, c] pixels in [-1, 1], frame i at fraction ts[i]. */
  pixels: Float32Array;
  shape: GenerationResult['shape'];
  /** [steps, nz] latents of the frames. */
  latents: Float32Array;
  ts: number[];
  /** Index of the midpoint (t = 0.5) frame. */
  middle: number;
  version: string;
  nz: number;
}

/**
 * Draws `steps` frames along the slerp arc from `latA` to `latB` through the
 * generation service, in requests of at most its batch size, all queued at
 * once (so they run in consecutive passes, shared with other requests). If the
 * checkpoint was hot-swapped between those passes the frames are drawn again,
 * so one animation never mixes two generators.
 */
export async function drawBlend(
  ctx: BotContext,
  latA: Float32Array,
  latB: Float32Array,
  steps = BLEND_STEPS,
): Promise<BlendDrawing> {
  if (!Number.isInteger(steps) || steps < 3 || steps % 2 === 0)
    throw new Error(`steps must be an odd number >= 3, got ${steps}`);
  const ts = easedFractions(steps);
  const latents = slerpPath(latA, latB, ts);
  const nz = latA.length;
  const gen = ctx.generation;
  for (let attempt = 0; attempt < 2; attempt++) {
    const parts: Promise<GenerationResult>[] = [];
    for (let i = 0; i < steps; i += gen.maxBatch) {
      const n = Math.min(gen.maxBatch, steps - i);
      parts.push(gen.generate(latents.subarray(i * nz, (i + n) * nz), n));
    }
    // Settle all before deciding, so no rejection is left unobserved.
    const settled = await Promise.allSettled(parts);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const results = settled.map((s) => (s as PromiseFulfilledResult<GenerationResult>).value);
    const version = results[0].version;
    if (results.some((r) => r.version !== version)) {
      ctx.log.info(
        { versions: [...new Set(results.map((r) => r.version))] },
        'checkpoint swapped during a blend; drawing it again',
      );
      continue;
    }
    const { h, w, c } = results[0].shape;
    const pixels = new Float32Array(steps * h * w * c);
    let off = 0;
    for (const r of results) {
      pixels.set(r.pixels, off);
      off += r.pixels.length;
    }
    return { pixels, shape: { n: steps, h, w, c }, latents, ts, middle: (steps - 1) / 2, version, nz };
  }
  throw new UserError('The sneaker generator was updated while drawing your blend. Please try again.');
}

/**
 * One line naming the parents another checkpoint drew (older, or newer after a rollback): the
 * current generator draws the same latent differently, so members comparing know why.
 */
export function redrawnNote(redrawn: Pick<DesignRow, 'id' | 'checkpointVersion'>[]): string {
  const versions = [...new Set(redrawn.map((d) => `\`${d.checkpointVersion}\``))];
  const by = `${versions.length === 1 ? 'another checkpoint' : 'other checkpoints'} (${versions.join(' and ')})`;
  return redrawn.length === 1
    ? `Design #${redrawn[0].id} was drawn by ${by}: redrawn here with the current one, so it may look a little different from the original.`
    : `Designs #${redrawn[0].id} and #${redrawn[1].id} were drawn by ${by}: redrawn here with the current one, so they may look a little different from the originals.`;
}

/** Per-frame delays of the ping-pong loop: a pause on each design, even steps between. */
export function blendDelays(sequence: number[], steps: number): number[] {
  return sequence.map((i) => (i === 0 || i === steps - 1 ? END_MS : FRAME_MS));
}

export interface BlendRequest {
  a: unknown;
  b: unknown;
  format?: AnimationFormat;
}

/**
 * Runs /blend for `interaction`: checks the references (ephemeral errors
 * before anything is deferred or counted against the rate limit), draws and
 * renders the blend, stores the middle frame as a design and posts the
 * animation with it, its id, the usual buttons and the vote reaction.
 */
export async function runBlend(
  interaction: ChatInputCommandInteraction | ButtonInteraction,
  ctx: BotContext,
  req: BlendRequest,
): Promise<{ message: Message; design: DesignRow; animation: Buffer }> {
  const format = req.format ?? 'webp';
  const parents = await resolveParents(ctx, req.a, req.b, interaction.guildId ?? null, interaction.user.id);
  return admitThenDefer(
    interaction,
    ctx,
    () => postBlend(interaction, ctx, parents, format),
    Math.ceil(BLEND_STEPS / ctx.generation.maxBatch),
  );
}

/** Draws, renders, stores and posts the blend of `parents` (the reply is deferred). */
async function postBlend(
  interaction: ChatInputCommandInteraction | ButtonInteraction,
  ctx: BotContext,
  { a, b, latA, latB }: BlendParents,
  format: AnimationFormat,
): Promise<{ message: Message; design: DesignRow; animation: Buffer }> {
  const t0 = performance.now();
  const drawing = await drawBlend(ctx, latA, latB);
  const tDrawn = performance.now();
  const sequence = pingPong(drawing.shape.n);
  const mid = drawing.middle;
  const [animation, still] = await Promise.all([
    ctx.renderer.animation(drawing.pixels, drawing.shape, {
      format,
      size: BLEND_SIZE,
      sequence,
      delay: blendDelays(sequence, drawing.shape.n),
    }),
    ctx.renderer.single(drawing.pixels, drawing.shape, mid, { size: BLEND_SIZE }),
  ]);
  const tRendered = performance.now();
  const [design] = await ctx.store.createDesigns([
    {
      // A blend has no seed of its own: it is fully given by its two parents.
      seed: 0,
      gridIndex: 0,
      latent: drawing.latents.slice(mid * drawing.nz, (mid + 1) * drawing.nz),
      checkpointVersion: drawing.version,
      kind: 'blend',
      parentId: a.id,
      secondParentId: b.id,
      guildId: interaction.guildId,
      channelId: interaction.channelId ?? 'dm',
      requesterId: interaction.user.id,
    },
  ]);
  const redrawn = [a, b].filter((d) => d.checkpointVersion !== drawing.version);
  const emoji = voteEmojiFor(1);
  const lines = [
    `**Blend of design #${a.id} and design #${b.id}** · a morph in ${drawing.shape.n} steps · checkpoint \`${drawing.version}\``,
    ...(redrawn.length ? [redrawnNote(redrawn)] : []),
    `${emoji[0]} design #${design.id}: the halfway point, a new design`,
    `Vote with ${emoji[0]}`,
  ];
  const message = await interaction.editReply({
    content: lines.join('\n'),
    files: [
      { attachment: animation, name: `blend-${a.id}-${b.id}.${format}`, contentType: animationMime(format) },
      { attachment: still, name: `design-${design.id}.png` },
    ],
    components: designButtons([design], interaction.user.id),
  });
  await ctx.store.attachMessage([design.id], message.id);
  ctx.log.info(
    {
      a: a.id,
      b: b.id,
      design: design.id,
      format,
      bytes: animation.length,
      drawMs: Math.round(tDrawn - t0),
      renderMs: Math.round(tRendered - tDrawn),
      version: drawing.version,
    },
    'blend posted',
  );
  for (const e of emoji) {
    try {
      await message.react(e);
    } catch (err) {
      ctx.log.warn({ err, message: message.id, emoji: e }, 'could not add vote reaction');
    }
  }
  return { message, design, animation };
}

/** Discord shows at most 25 autocomplete choices. */
const MAX_CHOICES = 25;

function ago(ms: number): string {
  const min = Math.max(0, Math.round(ms / 60_000));
  if (min === 0) return 'just now';
  if (min < 60) return `${min} min ago`;
  const h = Math.round(min / 60);
  return h < 48 ? `${h} h ago` : `${Math.round(h / 24)} days ago`;
}

/**
 * Autocomplete choices for a design option: this guild's most-voted designs,
 * then its newest, whose id starts with the digits typed so far, without
 * `exclude` (the design already picked in the other option). Only this
 * guild's designs are ever offered (in DMs, only `userId`'s own DM designs).
 */
export async function suggestDesigns(
  ctx: BotContext,
  guildId: string | null,
  typed: string,
  exclude?: number,
  now = Date.now(),
  userId?: string,
): Promise<{ name: string; value: string }[]> {
  const digits = typed.replace(/\D/g, '');
  const [top, recent] = await Promise.all([ctx.store.topDesigns(guildId, 10), ctx.store.recentDesigns(guildId, 100)]);
  const seen = new Set<number>();
  const out: { name: string; value: string }[] = [];
  for (const { design: d, votes } of [...top, ...recent]) {
    if (seen.has(d.id) || d.id === exclude || !String(d.id).startsWith(digits) || !visibleInDm(d, guildId, userId))
      continue;
    seen.add(d.id);
    const vote = votes ? ` · ${votes} vote${votes === 1 ? '' : 's'}` : '';
    out.push({ name: `#${d.id} · ${d.kind}${vote} · ${ago(now - d.createdAt.getTime())}`, value: `#${d.id}` });
    if (out.length === MAX_CHOICES) break;
  }
  return out;
}

/** Answers /blend's autocomplete for `a` and `b` (never throws: a failed lookup offers nothing). */
export async function blendAutocomplete(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void> {
  const focused = interaction.options.getFocused(true);
  if (focused.name !== 'a' && focused.name !== 'b') return interaction.respond([]);
  let exclude: number | undefined;
  try {
    exclude = parseDesignRef(interaction.options.get(focused.name === 'a' ? 'b' : 'a')?.value, 'other');
  } catch {
    exclude = undefined; // the other option is empty or not an id yet
  }
  let choices: { name: string; value: string }[] = [];
  try {
    choices = await suggestDesigns(
      ctx,
      interaction.guildId ?? null,
      String(focused.value ?? ''),
      exclude,
      Date.now(),
      interaction.user.id,
    );
  } catch (err) {
    ctx.log.warn({ err }, 'blend autocomplete failed');
  }
  await interaction.respond(choices);
}
