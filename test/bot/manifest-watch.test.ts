/**
 * The manifest watcher's poll fallback: a models directory that does not
 * exist yet cannot be fs.watch'ed, so a manifest appearing later is noticed
 * by polling; a busy trainer postpones the check.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { GenerationService } from '../../src/bot/generation.ts';
import { watchManifest } from '../../src/bot/manifest-watch.ts';
import { sleep, tempDir } from './harness.ts';

const root = tempDir('shoebot-manifest-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('manifest watcher', () => {
  it('polls when fs.watch is impossible, and waits while the bot is busy', async () => {
    const modelsDir = path.join(root, 'models'); // does not exist yet
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', destination: { write: (l: string) => void lines.push(l) } });
    let busy = true;
    const w = watchManifest({ modelsDir, generation: new GenerationService(), log, isBusy: () => busy, debounceMs: 20, pollMs: 100 });
    try {
      expect(lines.some((l) => l.includes('cannot fs.watch the models directory'))).toBe(true);
      fs.mkdirSync(modelsDir);
      fs.writeFileSync(path.join(modelsDir, 'manifest.json'), JSON.stringify({ active: 'missing-version', updatedAt: '' }));
      await sleep(600);
      expect(lines.some((l) => l.includes('does not load'))).toBe(false); // busy: postponed
      busy = false;
      const t0 = Date.now();
      while (!lines.some((l) => l.includes('does not load; keeping the current generator'))) {
        if (Date.now() - t0 > 15_000) throw new Error(`the poll never checked the manifest:\n${lines.join('')}`);
        await sleep(50);
      }
      await sleep(400); // the same broken manifest is not retried (one warning)
      expect(lines.filter((l) => l.includes('does not load')).length).toBe(1);
    } finally {
      w.close();
    }
  });
});
