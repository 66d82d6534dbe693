/**
 * Progress reporting for long jobs: a redrawn bar with rate and ETA on a TTY,
 * plain lines (at most every 10% or 5 s) otherwise, so logs and CI output stay
 * readable.
 */

export interface Progress {
  /** Advances by `n` units (default 1). */
  tick(n?: number): void;
  /** Finishes the bar with a final line (call once). */
  done(summary?: string): void;
}

export interface ProgressOptions {
  label: string;
  total: number;
  unit?: string;
  stream?: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean; columns?: number };
  /** Suppress all output (tests). */
  silent?: boolean;
}

/** Seconds as 42s, 3m07s or 2h05m (ETAs, durations). */
export function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Creates a progress reporter writing to stderr by default. */
export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const unit = opts.unit ?? 'items';
  const total = Math.max(0, opts.total);
  const tty = Boolean(stream.isTTY);
  const start = Date.now();
  let current = 0;
  let lastDraw = 0;
  let lastPlainPct = -1;
  let lastPlainTime = start;
  let lastDrawn = -1;
  let finished = false;

  const line = (): string => {
    const elapsed = (Date.now() - start) / 1000;
    const rate = elapsed > 0 ? current / elapsed : 0;
    const eta = rate > 0 ? (total - current) / rate : Infinity;
    const pct = total > 0 ? (100 * current) / total : 100;
    return `${pct.toFixed(0).padStart(3)}% ${current}/${total} ${unit} ${rate.toFixed(rate < 10 ? 1 : 0)}/s ETA ${fmtDuration(eta)}`;
  };

  const draw = (force: boolean): void => {
    if (opts.silent) return;
    const now = Date.now();
    if (tty) {
      if (!force && now - lastDraw < 100) return;
      lastDraw = now;
      const cols = ('columns' in stream && stream.columns) || 80;
      const text = line();
      const barWidth = Math.max(10, Math.min(40, cols - opts.label.length - text.length - 5));
      const filled = total > 0 ? Math.round((barWidth * current) / total) : barWidth;
      const bar = '#'.repeat(filled) + '-'.repeat(barWidth - filled);
      stream.write(`\r${opts.label} [${bar}] ${text}\x1b[K`);
    } else {
      const pct = total > 0 ? Math.floor((10 * current) / total) : 10;
      if ((force && current !== lastDrawn) || pct > lastPlainPct || now - lastPlainTime > 5000) {
        lastDrawn = current;
        lastPlainPct = pct;
        lastPlainTime = now;
        stream.write(`${opts.label}: ${line()}\n`);
      }
    }
  };

  return {
    tick(n = 1) {
      current = Math.min(total, current + n);
      draw(false);
    },
    done(summary?: string) {
      if (finished) return;
      finished = true;
      draw(true);
      if (opts.silent) return;
      const elapsed = (Date.now() - start) / 1000;
      if (tty) stream.write('\n');
      stream.write(`${opts.label}: ${summary ?? `done, ${current} ${unit} in ${elapsed.toFixed(1)}s`}\n`);
    },
  };
}
