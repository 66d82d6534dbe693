/**
 * One community-taste fit's arithmetic, from what a guild was shown and upvoted to the samples
 * src/gan/steering.ts fits a taste direction on, plus the fit's shape (`CommunityFit`).
 *
 * Honest across hot-swaps: a design's votes count GENERATION_DECAY^k, k = the number of checkpoint
 * changes between the checkpoint that drew it and the served one (checkpoints ordered by when they
 * were recorded in the Checkpoint table, else when this server first saw them; served = active or
 * retired, so rejected candidates that nobody saw don't count). Designs whose latent size differs
 * from the served generator's are ignored.
 */
import type { CheckpointOrderEntry, TasteDirection, TasteSample } from '../gan/steering.ts';

/** What the served generator is, as far as steering cares. */
export interface Served {
  version: string;
  nz: number;
}

/** A guild's fitted taste for one served checkpoint. */
export interface CommunityFit extends TasteDirection {
  guildId: string;
  /** The served checkpoint it was fitted for. */
  version: string;
  /** Short hash of direction + shrink: same fingerprint, same steering. */
  fingerprint: string;
  /** Designs with votes / votes, among designs of the served latent size. */
  votedDesigns: number;
  votes: number;
  /** Of those, on the served checkpoint. */
  currentVotedDesigns: number;
  currentVotes: number;
  /** Shown designs skipped because their latent size differs from the served generator's. */
  incompatible: number;
  /** Vote stamp of the data it was fitted on. */
  stamp: string;
  fittedAt: number;
  fitMs: number;
}

/** A shown design's decoded latent and provenance, cached per guild (they never change). */
export interface CachedDesign {
  latent: Float32Array;
  version: string;
  time: number;
  /** Its message: designs are compared with the others of the same grid. */
  group: string;
}

/** The vote counts a fit reports (see CommunityFit). */
export type VoteTally = Pick<
  CommunityFit,
  'votedDesigns' | 'votes' | 'currentVotedDesigns' | 'currentVotes' | 'incompatible'
>;

/**
 * When each checkpoint came: served ones from `history` (recorded time), the others from the
 * designs they drew (earliest), the served checkpoint at `now()` if nothing else dates it.
 */
export function checkpointOrder(
  history: { version: string; createdAt: Date; status: string }[],
  designs: [number, CachedDesign][],
  served: Served,
  now: () => number,
): CheckpointOrderEntry[] {
  const times = new Map<string, number>();
  const put = (v: string, t: number) => times.set(v, Math.min(times.get(v) ?? Infinity, t));
  for (const c of history)
    if (c.status === 'active' || c.status === 'retired' || c.version === served.version)
      put(c.version, c.createdAt.getTime());
  for (const [, d] of designs) put(d.version, d.time);
  if (!times.has(served.version)) put(served.version, now());
  return [...times].map(([version, time]) => ({ version, time }));
}

/**
 * The designs (id, design; oldest first) of the served latent size as taste samples weighted by
 * checkpoint (`weights`) with their votes (`counts` by design id), and the tally of those votes.
 */
export function tasteSamples(
  designs: [number, CachedDesign][],
  counts: Map<number, number>,
  weights: Map<string, number>,
  served: Served,
): { samples: TasteSample[]; tally: VoteTally } {
  const samples: TasteSample[] = [];
  const tally: VoteTally = { votedDesigns: 0, votes: 0, currentVotedDesigns: 0, currentVotes: 0, incompatible: 0 };
  for (const [id, d] of designs) {
    if (d.latent.length !== served.nz) {
      tally.incompatible++;
      continue;
    }
    const v = counts.get(id) ?? 0;
    samples.push({ latent: d.latent, votes: v, weight: weights.get(d.version) ?? 0, group: d.group });
    if (v > 0) {
      tally.votedDesigns++;
      tally.votes += v;
      if (d.version === served.version) {
        tally.currentVotedDesigns++;
        tally.currentVotes += v;
      }
    }
  }
  return { samples, tally };
}
