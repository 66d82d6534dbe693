/**
 * SHOE_QUEUE_MAX bounds the work admitted, end to end: many members asking at once get either
 * their designs or, at once and privately, "busy, try again in a few seconds" — never a long wait
 * behind everybody else.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectNoUnhandled, startHarness, type Harness } from './harness.ts';
import { BusyError } from '../../src/bot/errors.ts';

const QUEUE_MAX = 4;
const MEMBERS = 40;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ env: { SHOE_QUEUE_MAX: String(QUEUE_MAX) } });
});
afterAll(async () => {
  await h?.close();
});
afterEach(() => {
  expectNoUnhandled();
});

describe('SHOE_QUEUE_MAX', () => {
  it(`${MEMBERS} simultaneous /shoe with SHOE_QUEUE_MAX=${QUEUE_MAX}: the rest are told busy at once, the admitted get designs`, async () => {
    const busyText = new BusyError().message;
    const t0 = performance.now();
    const sent = Array.from({ length: MEMBERS }, (_, i) =>
      h.fake.sendCommand({
        name: 'shoe',
        options: { count: 4 },
        user: `3000000000000000${String(i).padStart(2, '0')}`,
      }),
    );
    const replies = await Promise.all(
      sent.map(async (it) => {
        const r = await h.fake.waitForReply(it, { timeoutMs: 60_000 });
        return { ...r, ms: performance.now() - t0 };
      }),
    );
    const busy = replies.filter((r) => r.ephemeral);
    const drawn = replies.filter((r) => !r.ephemeral);
    expect(busy.length + drawn.length).toBe(MEMBERS);
    expect(busy.length).toBeGreaterThan(0);
    expect(drawn.length).toBeGreaterThanOrEqual(QUEUE_MAX);
    for (const r of busy) {
      expect(r.message.content).toBe(busyText);
      // Answered directly (callback 4), not deferred and made to wait behind the admitted work.
      expect(r.callbackType).toBe(4);
    }
    for (const r of drawn) expect(r.message.attachments).toHaveLength(1);
    expect(h.bot.ctx.generation.stats.peakAdmitted).toBeLessThanOrEqual(QUEUE_MAX);
    const p = (xs: number[], q: number) =>
      [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
    console.log(
      `queue bound: ${drawn.length} drawn (p50 ${p(
        drawn.map((r) => r.ms),
        0.5,
      ).toFixed(0)} ms, max ${Math.max(...drawn.map((r) => r.ms)).toFixed(0)} ms), ` +
        `${busy.length} busy (p50 ${p(
          busy.map((r) => r.ms),
          0.5,
        ).toFixed(0)} ms, max ${Math.max(...busy.map((r) => r.ms)).toFixed(0)} ms)`,
    );
    // Every place is free again once all are answered (the reactions are the last step).
    await h.bot.ctx.generation.idle();
    await expect.poll(() => h.bot.ctx.generation.admitted, { timeout: 15_000 }).toBe(0);
  });
});
