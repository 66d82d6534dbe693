/**
 * /shoe [count] [seed] [mode] [strength] — fresh sneaker designs from the
 * active generator, with buttons for a reroll and, per design, variations and
 * an upscale. Same seed + same checkpoint = same image. mode:community steers
 * the seed's latents toward what this server upvoted (src/bot/community.ts);
 * then same seed + strength + taste (its fingerprint is shown) + checkpoint =
 * same image.
 */
import { SlashCommandBuilder, type ButtonInteraction, type ChatInputCommandInteraction } from 'discord.js';
import { latentsForSeed, variationsOf } from '../src/gan/latent.ts';
import {
  admitThenDefer,
  intOption,
  MAX_SEED,
  postDesigns,
  randomSeed,
  type DesignRequest,
} from '../src/bot/design-message.ts';
import { UserError } from '../src/bot/errors.ts';
import { bytesToLatent } from '../src/bot/store.ts';
import { communityTaste, DEFAULT_STRENGTH } from '../src/bot/community.ts';
import { describeSteering } from '../src/bot/community-text.ts';
import { findGuildDesign } from '../src/bot/design-refs.ts';
import { customIdInt, isSnowflake, MAX_DESIGN_ID } from '../src/bot/custom-id.ts';
import type { BotContext } from '../src/bot/types.ts';

export const MAX_COUNT = 4;
const VARIATIONS = 4;

export const data = new SlashCommandBuilder()
  .setName('shoe')
  .setDescription('Design sneakers with the GAN')
  .addIntegerOption((o) =>
    o.setName('count').setDescription('How many designs (1-4, default 4)').setMinValue(1).setMaxValue(MAX_COUNT),
  )
  .addIntegerOption((o) =>
    o.setName('seed').setDescription('Seed for repeatable designs (0-2147483647)').setMinValue(0).setMaxValue(MAX_SEED),
  )
  .addStringOption((o) =>
    o
      .setName('mode')
      .setDescription('plain (default), or community: steered toward what this server upvoted')
      .addChoices({ name: 'plain', value: 'plain' }, { name: 'community', value: 'community' }),
  )
  .addNumberOption((o) =>
    o
      .setName('strength')
      .setDescription(`Community steering strength, 0-1 (default ${DEFAULT_STRENGTH})`)
      .setMinValue(0)
      .setMaxValue(1),
  );

/** Parses `mode` (Discord offers the choices, but nothing stops a bad client). */
function modeOption(value: unknown): 'plain' | 'community' | undefined {
  if (value === null || value === undefined) return undefined;
  if (value === 'plain' || value === 'community') return value;
  throw new UserError('`mode` must be `plain` or `community`.');
}

/** Parses `strength`: a number from 0 to 1, kept to two decimals (so it can be typed again to reproduce). */
function strengthOption(value: unknown): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1)
    throw new UserError('`strength` must be a number from 0 to 1.');
  return Math.round(value * 100) / 100;
}

/**
 * Community-steered designs for an interaction not yet deferred: fits (or reuses) the guild's
 * taste first, so a guild without enough votes gets a private explanation and nothing is drawn.
 */
async function postCommunity(
  interaction: ChatInputCommandInteraction | ButtonInteraction,
  ctx: BotContext,
  seed: number,
  count: number,
  strength: number,
): Promise<void> {
  const guildId = interaction.guildId;
  if (!guildId)
    throw new UserError(
      "Community mode steers toward a server's votes: use it in a server channel (plain `/shoe` works here).",
    );
  const active = ctx.generation.active;
  // No generator: admit() explains it.
  if (!active) return ctx.generation.admit(interaction.user.id).release();
  const taste = communityTaste(ctx.store, { log: ctx.log.child({ part: 'community' }) });
  let { latents, fit, shift } = await taste.sample(
    guildId,
    { version: active.version, nz: active.nz },
    seed,
    count,
    strength,
  );
  await admitThenDefer(interaction, ctx, async () => {
    // A hot-swap while fitting: steer with the taste weighted for the generator that will draw.
    const now = ctx.generation.active;
    if (now && now.version !== fit.version)
      ({ latents, fit, shift } = await taste.sample(
        guildId,
        { version: now.version, nz: now.nz },
        seed,
        count,
        strength,
      ));
    await postDesigns(interaction, ctx, {
      latents,
      n: count,
      seed,
      kind: 'shoe',
      // strength 0 draws the plain latents: don't label plain designs as steered.
      title:
        strength > 0
          ? count === 1
            ? '1 community-steered sneaker design'
            : `${count} community-steered sneaker designs`
          : count === 1
            ? '1 sneaker design'
            : `${count} sneaker designs`,
      note: describeSteering(fit, strength, shift),
      steering: strength,
      reroll: count,
      rerollArg: `c${strength}`,
    });
  });
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  // Raw values: Discord enforces the ranges, but nothing stops a bad client.
  const count = intOption(interaction.options.get('count')?.value, 'count', 1, MAX_COUNT) ?? MAX_COUNT;
  const seed = intOption(interaction.options.get('seed')?.value, 'seed', 0, MAX_SEED) ?? randomSeed();
  const mode = modeOption(interaction.options.get('mode')?.value);
  const strength = strengthOption(interaction.options.get('strength')?.value);
  if (mode === 'plain' && strength !== undefined) {
    throw new UserError(
      '`strength` steers community mode: use `/shoe mode:community strength:…`, or leave it out for plain designs.',
    );
  }
  // A strength alone means community mode.
  if (mode === 'community' || strength !== undefined)
    return postCommunity(interaction, ctx, seed, count, strength ?? DEFAULT_STRENGTH);
  await postPlain(interaction, ctx, seed, count);
}

/** Plain designs for `seed` (a /shoe or a reroll), with a reroll button. */
async function postPlain(
  interaction: ChatInputCommandInteraction | ButtonInteraction,
  ctx: BotContext,
  seed: number,
  count: number,
): Promise<void> {
  await admitThenDefer(interaction, ctx, () =>
    postDesigns(interaction, ctx, {
      latents: latentsForSeed(seed, count, ctx.generation.active!.nz),
      n: count,
      seed,
      kind: 'shoe',
      title: count === 1 ? '1 sneaker design' : `${count} sneaker designs`,
      reroll: count,
    }),
  );
}

export async function handleButton(interaction: ButtonInteraction, ctx: BotContext, args: string[]): Promise<void> {
  const [action, target, requesterId, extra] = args;
  const stale = () => new UserError('This button no longer does anything.');
  if (!isSnowflake(requesterId)) throw stale();
  if (interaction.user.id !== requesterId) {
    throw new UserError(`Only <@${requesterId}> can use these buttons. Run \`/shoe\` for your own designs!`);
  }
  if (action === 'reroll') {
    const count = customIdInt(target, 1, MAX_COUNT);
    if (count === undefined) throw stale();
    // `c<strength>`: a community message's reroll stays community at the same strength.
    if (extra?.startsWith('c'))
      return postCommunity(
        interaction,
        ctx,
        randomSeed(),
        count,
        strengthOption(Number(extra.slice(1))) ?? DEFAULT_STRENGTH,
      );
    return postPlain(interaction, ctx, randomSeed(), count);
  }
  const id = customIdInt(target, 1, MAX_DESIGN_ID);
  if ((action !== 'var' && action !== 'up') || id === undefined) throw stale();
  // Scoped like /blend: a forged id must not reach another server's design or another member's DM design.
  const design = await findGuildDesign(ctx, id, interaction.guildId ?? null, interaction.user.id);
  // Messages posted before upscales lost their Upscale button still have one.
  if (action === 'up' && design.kind === 'upscale') throw new UserError(`Design #${design.id} is already upscaled.`);
  const base = bytesToLatent(design.latent);
  const nz = ctx.generation.active?.nz;
  if (nz !== undefined && base.length !== nz) {
    throw new UserError('That design was drawn by an older generator of a different shape, so it cannot be redrawn.');
  }
  const seed = randomSeed();
  const req: DesignRequest =
    action === 'var'
      ? {
          latents: variationsOf(base, seed, VARIATIONS),
          n: VARIATIONS,
          seed,
          kind: 'variation',
          parentId: design.id,
          title: `${VARIATIONS} variations of design #${design.id}`,
          seedKind: 'variation',
        }
      : {
          latents: base,
          n: 1,
          seed: design.seed,
          // An upscaled variation keeps its variation seed, which /shoe cannot reproduce.
          seedKind: design.kind === 'shoe' ? 'shoe' : design.kind === 'blend' ? 'none' : 'variation',
          kind: 'upscale',
          parentId: design.id,
          // The same latent: an upscale of a community design is one too.
          steering: design.steering ?? undefined,
          title: `Design #${design.id}, upscaled`,
          single: true,
        };
  await admitThenDefer(interaction, ctx, () => postDesigns(interaction, ctx, req));
}
