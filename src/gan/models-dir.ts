/**
 * MODELS_DIR as a place to write: checked before a run trains (a run that trains for hours and then
 * fails with `ENOENT ... mkdir` on its checkpoint wasted the night), and swept of temporary
 * checkpoint folders (`.tmp-<version>-<pid>`, see checkpoint.ts) that a killed writer left behind.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { checkpointsDir } from './checkpoint.ts';

/** A temporary folder this old is never one being written (a checkpoint takes seconds to minutes). */
export const STALE_TMP_MS = 60 * 60_000;

const TMP_RE = /^\.tmp-.+-(\d+)$/;

/**
 * Creates and removes a file in `dir`: the real test of writability (permission bits say nothing
 * for root, for read-only mounts or for ACLs). The error, or undefined when `dir` is writable.
 */
export function writeProbe(dir: string): NodeJS.ErrnoException | undefined {
  const file = path.join(dir, `.tmp-write-check-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  try {
    fs.writeFileSync(file, 'shoebot write check\n');
    fs.rmSync(file);
    return undefined;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
}

/** The operator-facing reason MODELS_DIR cannot take a checkpoint, or undefined when it can. */
export function modelsDirProblem(modelsDir: string): string | undefined {
  const dir = path.resolve(modelsDir);
  let e: NodeJS.ErrnoException | undefined;
  try {
    fs.mkdirSync(checkpointsDir(dir), { recursive: true });
    // The manifest is written in MODELS_DIR, checkpoints under checkpoints/.
    e = writeProbe(dir) ?? writeProbe(checkpointsDir(dir));
  } catch (err) {
    e = err as NodeJS.ErrnoException;
  }
  if (!e) return undefined;
  const cause =
    e.code === 'ENOTDIR' || e.code === 'EEXIST'
      ? 'a part of that path is a file, not a folder'
      : e.code === 'EROFS'
        ? 'it is on a read-only file system'
        : e.code === 'EACCES' || e.code === 'EPERM'
          ? `this process (uid ${process.getuid?.() ?? '?'}) may not write there`
          : e.code === 'ENOSPC'
            ? 'the disk is full'
            : (e.message ?? String(e));
  return `MODELS_DIR ${dir} is not writable (${e.code ?? 'error'}: ${cause}), so no checkpoint could be saved; point MODELS_DIR at a writable folder or fix its permissions`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * Removes `.tmp-*` checkpoint folders under MODELS_DIR older than `staleMs` whose writer is not
 * alive on this machine. (MODELS_DIR may be shared between machines: a pid says nothing about
 * another host, so age is the rule and the pid only protects local writers.) Returns the removed names.
 */
export function removeStaleTempFolders(modelsDir: string, opts: { staleMs?: number; now?: number } = {}): string[] {
  const staleMs = opts.staleMs ?? STALE_TMP_MS;
  const now = opts.now ?? Date.now();
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(modelsDir, { withFileTypes: true });
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    const m = TMP_RE.exec(entry.name);
    if (!m || !entry.isDirectory()) continue;
    const full = path.join(modelsDir, entry.name);
    const pid = Number(m[1]);
    if (pid === process.pid || alive(pid)) continue;
    let newest: number;
    try {
      newest = newestMtime(full);
    } catch {
      continue;
    }
    if (now - newest < staleMs) continue;
    fs.rmSync(full, { recursive: true, force: true });
    removed.push(entry.name);
  }
  return removed;
}

/** The newest modification time inside a folder (the folder's own mtime misses writes into its files). */
function newestMtime(dir: string): number {
  let newest = fs.statSync(dir).mtimeMs;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}
