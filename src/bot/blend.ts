/**
 * /blend: morph between two designs of this server. Their latents are joined
 * by spherical interpolation (src/gan/slerp.ts); the frames are drawn by the
 * generation service (blend-draw.ts: batched with everybody else's requests,
 * from the checkpoint served right now), rendered in the worker thread as a
 * looping animation (a -> b -> a), and the middle frame is stored and posted as
 * a new votable design (kind 'blend', parents a and b).
 */
import type { AutocompleteInteraction, ButtonInteraction, ChatInputCommandInteraction, Message } from 'discord.js';
import { animationMime, pingPong, type AnimationFormat } from '../render/animation.ts';
import { BLEND_STEPS, drawBlend, type BlendDrawing } from './blend-draw.ts';
import { admitThenDefer, designButtons, seedVoteReactions } from './design-message.ts';
import { findGuildDesign, parseDesignRef, suggestDesigns } from './design-refs.ts';
import { UserError } from './errors.ts';
import { bytesToLatent, type DesignRow } from './store.ts';
import type { BotContext } from './types.ts';
import { voteEmojiFor } from './votes.ts';

/** Frame side of the animation: Discord shows inline images up to ~400 px; 256 matches /shoe's tiles. */
export const BLEND_SIZE = 256;
/** ms per frame between the ends, and on each of the two designs (a pause so the eye finds them). */
export const FRAME_MS = 70;
export const END_MS = 600;

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

/** The animation (a -> b -> a) and the still of the middle frame, rendered in the worker. */
async function renderBlend(
  ctx: BotContext,
  drawing: BlendDrawing,
  format: AnimationFormat,
): Promise<{ animation: Buffer; still: Buffer }> {
  const sequence = pingPong(drawing.shape.n);
  const [animation, still] = await Promise.all([
    ctx.renderer.animation(drawing.pixels, drawing.shape, {
      format,
      size: BLEND_SIZE,
      sequence,
      delay: blendDelays(sequence, drawing.shape.n),
    }),
    ctx.renderer.single(drawing.pixels, drawing.shape, drawing.middle, { size: BLEND_SIZE }),
  ]);
  return { animation, still };
}

/** Stores the middle frame as a new design of kind 'blend' with parents `a` and `b`. */
async function storeBlend(
  interaction: ChatInputCommandInteraction | ButtonInteraction,
  ctx: BotContext,
  drawing: BlendDrawing,
  a: DesignRow,
  b: DesignRow,
): Promise<DesignRow> {
  const mid = drawing.middle;
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
  return design;
}

/** The message text: what was blended, a note on redrawn parents, the new design and its vote emoji. */
function blendLines(drawing: BlendDrawing, a: DesignRow, b: DesignRow, design: DesignRow, emoji: string[]): string[] {
  const redrawn = [a, b].filter((d) => d.checkpointVersion !== drawing.version);
  return [
    `**Blend of design #${a.id} and design #${b.id}** · a morph in ${drawing.shape.n} steps · checkpoint \`${drawing.version}\``,
    ...(redrawn.length ? [redrawnNote(redrawn)] : []),
    `${emoji[0]} design #${design.id}: the halfway point, a new design`,
    `Vote with ${emoji[0]}`,
  ];
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
  const { animation, still } = await renderBlend(ctx, drawing, format);
  const tRendered = performance.now();
  const design = await storeBlend(interaction, ctx, drawing, a, b);
  const emoji = voteEmojiFor(1);
  const message = await interaction.editReply({
    content: blendLines(drawing, a, b, design, emoji).join('\n'),
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
  await seedVoteReactions(ctx, message, emoji);
  return { message, design, animation };
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
