/**
 * One "design message": generate images for some latents, store them as
 * designs, post them as a PNG with buttons, and seed the vote reactions.
 * /shoe, reroll, variations and upscale all go through here.
 */
import { randomInt } from 'node:crypto';
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Message,
} from 'discord.js';
import type { GridOptions } from '../render/grid.ts';
import type { DesignRow } from './store.ts';
import type { BotContext } from './types.ts';
import { UserError } from './errors.ts';
import { voteEmojiFor } from './votes.ts';

/** The grid a design message posts: two columns (one row for 1-2 designs), 256 px tiles. */
export function designGridOptions(n: number): GridOptions {
  // Grid numbers match the vote emoji; no ids, so the same seed gives the same PNG bytes.
  return { cols: n <= 2 ? n : 2, tile: 256, labels: Array.from({ length: n }, (_, i) => `${i + 1}`) };
}

export const MAX_SEED = 2_147_483_647;

/** A fresh random seed for a design batch. */
export function randomSeed(): number {
  return randomInt(0, MAX_SEED);
}

/** Buttons under a design message; every custom_id names the requester. */
export function designButtons(
  designs: DesignRow[],
  requesterId: string,
  opts: { reroll?: number; rerollArg?: string } = {},
): ActionRowBuilder<ButtonBuilder>[] {
  const rows: ActionRowBuilder<ButtonBuilder>[] = [];
  if (designs.length > 1) {
    rows.push(
      new ActionRowBuilder<ButtonBuilder>().addComponents(
        designs.map((d, i) =>
          new ButtonBuilder()
            .setCustomId(`shoe:var:${d.id}:${requesterId}`)
            .setLabel(`Variations ${i + 1}`)
            .setStyle(ButtonStyle.Secondary),
        ),
      ),
      new ActionRowBuilder<ButtonBuilder>().addComponents(
        designs.map((d, i) =>
          new ButtonBuilder()
            .setCustomId(`shoe:up:${d.id}:${requesterId}`)
            .setLabel(`Upscale ${i + 1}`)
            .setStyle(ButtonStyle.Secondary),
        ),
      ),
    );
  } else if (designs.length === 1) {
    const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder()
        .setCustomId(`shoe:var:${designs[0].id}:${requesterId}`)
        .setLabel('Variations')
        .setStyle(ButtonStyle.Secondary),
    );
    // Upscaling an upscale would only store the same pixels again as a new design.
    if (designs[0].kind !== 'upscale') {
      row.addComponents(
        new ButtonBuilder()
          .setCustomId(`shoe:up:${designs[0].id}:${requesterId}`)
          .setLabel('Upscale')
          .setStyle(ButtonStyle.Secondary),
      );
    }
    rows.push(row);
  }
  if (opts.reroll) {
    const last = rows.at(-1);
    const reroll = new ButtonBuilder()
      .setCustomId(`shoe:reroll:${opts.reroll}:${requesterId}${opts.rerollArg ? `:${opts.rerollArg}` : ''}`)
      .setLabel('Reroll')
      .setEmoji('🎲')
      .setStyle(ButtonStyle.Primary);
    if (last && last.components.length < 5) last.addComponents(reroll);
    else rows.push(new ActionRowBuilder<ButtonBuilder>().addComponents(reroll));
  }
  return rows;
}

export interface DesignRequest {
  /** [n, nz] latents. */
  latents: Float32Array;
  n: number;
  /** Seed stored with every design (the /shoe seed, or the variations' seed). */
  seed: number;
  /**
   * What `seed` is: a /shoe seed (reproducible with /shoe seed:X, the default)
   * or a variation seed (which is not, so it is labelled differently);
   * 'none' shows no seed (a blend's upscale: its parents define it, not a seed).
   */
  seedKind?: 'shoe' | 'variation' | 'none';
  kind: 'shoe' | 'variation' | 'upscale';
  parentId?: number;
  /** First line of the message, e.g. "4 sneaker designs". */
  title: string;
  /** Offer a reroll button for this many designs. */
  reroll?: number;
  /** Extra custom_id part of the reroll button (community mode: `c<strength %>`). */
  rerollArg?: string;
  /** Community-mode steering strength the latents were drawn with (stored as Design.steering). */
  steering?: number;
  /** A second line under the title (e.g. how the designs were steered). */
  note?: string;
  /** Render one large image instead of a grid. */
  single?: boolean;
}

/**
 * Admits the member's request (a "busy" or rate-limit answer comes privately, before anything is
 * deferred), defers the public reply, then runs `post`; the request holds its place among the
 * admitted work until `post` is done, so the bound covers the whole request.
 */
export function admitThenDefer<T>(
  interaction: ChatInputCommandInteraction | ButtonInteraction,
  ctx: BotContext,
  post: () => Promise<T>,
  passes = 1,
): Promise<T> {
  return ctx.generation.withAdmission(interaction.user.id, passes, async () => {
    await interaction.deferReply();
    return post();
  });
}

/**
 * Runs a design request for an interaction that is already deferred (public).
 * Returns the posted message and the stored designs.
 */
export async function postDesigns(
  interaction: ChatInputCommandInteraction | ButtonInteraction,
  ctx: BotContext,
  req: DesignRequest,
): Promise<{ message: Message; designs: DesignRow[] }> {
  const result = await ctx.generation.generate(req.latents, req.n);
  const nz = result.nz;
  const designs = await ctx.store.createDesigns(
    Array.from({ length: req.n }, (_, i) => ({
      seed: req.seed,
      gridIndex: i,
      latent: req.latents.slice(i * nz, (i + 1) * nz),
      checkpointVersion: result.version,
      kind: req.kind,
      parentId: req.parentId ?? null,
      steering: req.steering ?? null,
      guildId: interaction.guildId,
      channelId: interaction.channelId ?? 'dm',
      requesterId: interaction.user.id,
    })),
  );
  const png = req.single
    ? await ctx.renderer.single(result.pixels, result.shape, 0, { size: 512 })
    : await ctx.renderer.grid(result.pixels, result.shape, designGridOptions(designs.length));
  const emoji = voteEmojiFor(req.n);
  const lines = [
    // 'none': a blend's upscale has no seed of its own (its parents define it).
    req.seedKind === 'none'
      ? `**${req.title}** · checkpoint \`${result.version}\``
      : `**${req.title}** · ${seedLabel(req.seedKind ?? (req.kind === 'variation' ? 'variation' : 'shoe'), req.seed)} · checkpoint \`${result.version}\``,
    ...(req.note ? [req.note] : []),
    designs.map((d, i) => `${emoji.length > 1 ? emoji[i] : emoji[0]} design #${d.id}`).join(' · '),
    `Vote with ${emoji.join(' ')}`,
  ];
  const message = await interaction.editReply({
    content: lines.join('\n'),
    files: [{ attachment: png, name: req.single ? `design-${designs[0].id}.png` : `sneakers-${req.seed}.png` }],
    components: designButtons(designs, interaction.user.id, { reroll: req.reroll, rerollArg: req.rerollArg }),
  });
  await ctx.store.attachMessage(
    designs.map((d) => d.id),
    message.id,
  );
  await seedVoteReactions(ctx, message, emoji);
  return { message, designs };
}

/**
 * Adds the vote reactions `emoji` to `message` in order; the first failure is logged and ends it
 * (a failure here must not hide the designs, and the rest would fail the same way).
 */
export async function seedVoteReactions(ctx: BotContext, message: Message, emoji: string[]): Promise<void> {
  for (const e of emoji) {
    try {
      await message.react(e);
    } catch (err) {
      ctx.log.warn({ err, message: message.id, emoji: e }, 'could not add vote reaction');
      break;
    }
  }
}

/**
 * "seed `X`" for /shoe seeds; "variation seed `X`" for variation seeds, so
 * nobody expects `/shoe seed:X` to draw the same designs.
 */
export function seedLabel(kind: 'shoe' | 'variation', seed: number): string {
  return kind === 'variation' ? `variation seed \`${seed}\`` : `seed \`${seed}\``;
}

/** Parses a text option that Discord should have type-checked, but may not have (old clients, the API). */
export function stringOption(value: unknown, name: string): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'string')
    throw new UserError(
      `\`${name}\` must be text, got a ${typeof value === 'number' ? 'number' : typeof value === 'boolean' ? 'true/false value' : 'value of another type'}.`,
    );
  return value;
}

/** Parses an integer option that Discord should have validated, but may not have (old clients, the API). */
export function intOption(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new UserError(`\`${name}\` must be a whole number from ${min} to ${max}.`);
  }
  return value;
}
