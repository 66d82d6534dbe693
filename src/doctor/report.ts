/**
 * What `npm run doctor` finds, and how it is shown: one line per check (✓ fine, ⚠ works but
 * worth fixing, ✗ blocks the bot or training), indented details, and a fix for every problem.
 */

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  /** Stable id for --json consumers, e.g. "database". */
  id: string;
  status: CheckStatus;
  /** One line: what was checked and what was found. */
  summary: string;
  /** Further facts, one per line (paths, versions, the loader's exact words). */
  details?: string[];
  /** What to do about a problem; required unless status is ok. */
  fix?: string;
}

const SYMBOL: Record<CheckStatus, string> = { ok: '✓', warn: '⚠', fail: '✗' };

export function ok(id: string, summary: string, details?: string[]): CheckResult {
  return { id, status: 'ok', summary, ...(details?.length ? { details } : {}) };
}

export function warn(id: string, summary: string, fix: string, details?: string[]): CheckResult {
  return { id, status: 'warn', summary, fix, ...(details?.length ? { details } : {}) };
}

export function fail(id: string, summary: string, fix: string, details?: string[]): CheckResult {
  return { id, status: 'fail', summary, fix, ...(details?.length ? { details } : {}) };
}

/** Plain text for a terminal or a support ticket. */
export function formatReport(results: CheckResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${SYMBOL[r.status]} ${r.summary}`);
    for (const d of r.details ?? []) lines.push(`    ${d}`);
    if (r.fix) lines.push(`    fix: ${r.fix}`);
  }
  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  const fails = count('fail');
  const warns = count('warn');
  lines.push('');
  lines.push(
    fails
      ? `${fails} problem(s) block shoebot, ${warns} warning(s).`
      : warns
        ? `No blocking problem; ${warns} warning(s).`
        : 'Everything checked is fine.',
  );
  return lines.join('\n') + '\n';
}

/** Non-zero only when something blocks: warnings alone exit 0 (scripts may gate on it). */
export function exitCode(results: CheckResult[]): number {
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
