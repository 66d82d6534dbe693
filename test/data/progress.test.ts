import { describe, expect, it } from 'vitest';
import { createProgress } from '../../src/data/progress.ts';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, columns: 100, write: (s: string) => chunks.push(s) } };
}

describe('progress', () => {
  it('redraws one bar line on a TTY and ends with a newline and a summary', () => {
    const { chunks, stream } = sink(true);
    const p = createProgress({ label: 'import', total: 4, unit: 'images', stream });
    p.tick();
    p.tick(3);
    p.done('4 images done');
    const out = chunks.join('');
    expect(out).toMatch(/^\rimport \[#+-*\] +25% 1\/4 images/);
    expect(out).toMatch(/\rimport \[#+\] 100% 4\/4 images/);
    expect(out.endsWith('\nimport: 4 images done\n')).toBe(true);
  });

  it('writes plain lines without control characters otherwise, at most one per 10%', () => {
    const { chunks, stream } = sink(false);
    const p = createProgress({ label: 'import', total: 1000, stream });
    for (let i = 0; i < 1000; i++) p.tick();
    p.done();
    expect(chunks.join('')).not.toMatch(/[\r\x1b]/);
    expect(chunks.length).toBeLessThanOrEqual(12);
    expect(chunks.at(-2)).toMatch(/100% 1000\/1000/);
    expect(chunks.at(-1)).toMatch(/^import: done, 1000 items in/);
  });

  it('prints nothing when silent', () => {
    const { chunks, stream } = sink(true);
    const p = createProgress({ label: 'x', total: 2, stream, silent: true });
    p.tick();
    p.done();
    expect(chunks).toEqual([]);
  });
});
