/**
 * What members read about community mode: the refusal when a guild's votes can't steer yet and the
 * line under a community-steered grid, with the vote threshold they name.
 */
import type { CommunityFit } from './community-fit.ts';
import { UserError } from './errors.ts';

/**
 * Designs members picked out of a grid (voted above the grid's mean; after checkpoint
 * down-weighting) that community mode needs before it steers.
 */
export const MIN_VOTED_DESIGNS = 5;

/** `x` rounded to `d` decimals (a number, for logs and text). */
export const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
/** An integer as is, anything else with one decimal. */
export const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));

/** Throws the refusal users see when a fit can't steer yet (too few votes, or no signal). */
export function assertEnoughData(fit: CommunityFit): void {
  if (fit.weightedPreferred < MIN_VOTED_DESIGNS) {
    const counted =
      fit.weightedPreferred !== fit.votedDesigns
        ? ` (${fmt(round(fit.weightedPreferred, 1))} that count: a vote counts when it picks designs out of a grid, and votes on designs from older checkpoints count half per checkpoint since)`
        : '';
    throw new UserError(
      `Community mode steers designs toward what this server upvoted, and needs votes on at least ${MIN_VOTED_DESIGNS} designs picked out of \`/shoe\` grids. ` +
        `This server has votes on ${fit.votedDesigns} design${fit.votedDesigns === 1 ? '' : 's'} so far${counted}. ` +
        'Use plain `/shoe` and vote for your favourites with the 1️⃣–4️⃣ reactions; community mode unlocks once enough designs have votes.',
    );
  }
  if (fit.shrink <= 0) {
    throw new UserError(
      `This server's votes (${fit.votes} on ${fit.votedDesigns} designs) don't show a consistent taste yet: they look like chance, so there is nothing to steer toward. ` +
        'Use plain `/shoe` and keep voting for the designs you like.',
    );
  }
}

/** One line for a community design message: that it is steered, how strongly, and by how much data. */
export function describeSteering(fit: CommunityFit, strength: number, shift: number): string {
  if (strength === 0)
    return "🧭 Community mode at strength 0: not steered, these are the plain designs of this seed (raise `strength` to steer toward this server's votes)";
  return (
    `🧭 Community-steered toward this server's votes · strength ${fmt(round(strength, 2))} (shift ${shift.toFixed(2)}σ) · ` +
    `from ${fit.votes} vote${fit.votes === 1 ? '' : 's'} on ${fit.votedDesigns} design${fit.votedDesigns === 1 ? '' : 's'} ` +
    `(${fit.currentVotedDesigns} on this checkpoint) · taste \`${fit.fingerprint}\``
  );
}
