/**
 * The quality figures stored with a checkpoint (computed by src/gan/metrics.ts)
 * and how two sets of them compare: the rule behind the bot's quality gate and
 * `npm run train`'s decision to activate a new checkpoint.
 */

/** Quality figures (src/gan/metrics.ts) stored with a checkpoint. */
export interface CheckpointMetrics {
  kid?: number;
  fid?: number;
  sneakerShare?: number;
  /** Features KID/FID were computed on (metrics.ts QualityMetrics.metric); absent = the Fashion-MNIST classifier. */
  metric?: string;
  [k: string]: number | string | undefined;
}

/** Metric id of figures on the shipped Fashion-MNIST classifier's features (metrics.ts). */
export const CLASSIFIER_METRIC = 'fmnist-classifier';

/** The metric of a checkpoint's figures (older checkpoints, written before colour models, used the classifier). */
export const metricOf = (m: CheckpointMetrics): string => m.metric ?? CLASSIFIER_METRIC;

const FIGURES = ['kid', 'fid', 'sneakerShare'] as const;
/** A stored figure if it is a finite number (a failed evaluation may have left NaN or nothing). */
const figure = (m: CheckpointMetrics, k: (typeof FIGURES)[number]): number | undefined => {
  const v = m[k];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
};
const hasFigure = (m: CheckpointMetrics): boolean => FIGURES.some((k) => figure(m, k) !== undefined);

/**
 * Compares quality figures like the bot's gate: KID, else FID (lower is
 * better), else sneaker share (higher is better), with `margin` relative
 * slack. `worse` is true only when a comparable figure is worse by more than
 * the margin; `reason` is one readable phrase.
 */
export function compareQuality(
  candidate: CheckpointMetrics,
  active: CheckpointMetrics,
  margin: number,
): { worse: boolean; reason: string } {
  const fmt = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));
  const pct = `${Math.round(margin * 100)}%`;
  // Without figures there is no metric either: an unevaluated colour checkpoint (--no-eval) was not
  // "measured with the classifier", which is what metricOf() infers for old checkpoints with figures.
  if (!hasFigure(candidate)) return { worse: false, reason: 'not evaluated: no quality figures to compare' };
  if (!hasFigure(active))
    return { worse: false, reason: 'the active checkpoint has no quality figures to compare with' };
  // KID on one network's features says nothing about KID on another's (e.g. after switching a grey model to colour).
  if (metricOf(candidate) !== metricOf(active)) {
    return {
      worse: false,
      reason: `quality measured with ${metricOf(candidate)}, active with ${metricOf(active)}: not comparable`,
    };
  }
  for (const k of ['kid', 'fid'] as const) {
    const c = figure(candidate, k);
    const a = figure(active, k);
    if (c !== undefined && a !== undefined) {
      const worse = c > a * (1 + margin) + 1e-6;
      return {
        worse,
        reason: `${k.toUpperCase()} ${fmt(c)} vs active ${fmt(a)}${worse ? ` (worse by more than ${pct})` : ''}`,
      };
    }
  }
  const c = figure(candidate, 'sneakerShare');
  const a = figure(active, 'sneakerShare');
  if (c !== undefined && a !== undefined) {
    const worse = c < a * (1 - margin);
    return {
      worse,
      reason: `sneaker share ${fmt(c)} vs active ${fmt(a)}${worse ? ` (worse by more than ${pct})` : ''}`,
    };
  }
  return { worse: false, reason: 'no comparable quality figure' };
}
