/**
 * A built-in 5x7 bitmap font for labels, axes and legends. Drawing text with
 * our own glyphs (instead of SVG text through fontconfig) keeps PNG bytes
 * identical on every machine and works in containers without fonts.
 * Lower-case letters are drawn as upper case; unknown characters as '?'.
 */

// Each glyph: 7 rows of 5 columns, '#' = ink.
const GLYPHS: Record<string, string> = {
  ' ': '.....|.....|.....|.....|.....|.....|.....',
  '0': '.###.|#...#|#..##|#.#.#|##..#|#...#|.###.',
  '1': '..#..|.##..|..#..|..#..|..#..|..#..|.###.',
  '2': '.###.|#...#|....#|...#.|..#..|.#...|#####',
  '3': '#####|...#.|..#..|...#.|....#|#...#|.###.',
  '4': '...#.|..##.|.#.#.|#..#.|#####|...#.|...#.',
  '5': '#####|#....|####.|....#|....#|#...#|.###.',
  '6': '..##.|.#...|#....|####.|#...#|#...#|.###.',
  '7': '#####|....#|...#.|..#..|.#...|.#...|.#...',
  '8': '.###.|#...#|#...#|.###.|#...#|#...#|.###.',
  '9': '.###.|#...#|#...#|.####|....#|...#.|.##..',
  A: '.###.|#...#|#...#|#####|#...#|#...#|#...#',
  B: '####.|#...#|#...#|####.|#...#|#...#|####.',
  C: '.###.|#...#|#....|#....|#....|#...#|.###.',
  D: '###..|#..#.|#...#|#...#|#...#|#..#.|###..',
  E: '#####|#....|#....|####.|#....|#....|#####',
  F: '#####|#....|#....|####.|#....|#....|#....',
  G: '.###.|#...#|#....|#.###|#...#|#...#|.####',
  H: '#...#|#...#|#...#|#####|#...#|#...#|#...#',
  I: '.###.|..#..|..#..|..#..|..#..|..#..|.###.',
  J: '..###|...#.|...#.|...#.|...#.|#..#.|.##..',
  K: '#...#|#..#.|#.#..|##...|#.#..|#..#.|#...#',
  L: '#....|#....|#....|#....|#....|#....|#####',
  M: '#...#|##.##|#.#.#|#.#.#|#...#|#...#|#...#',
  N: '#...#|#...#|##..#|#.#.#|#..##|#...#|#...#',
  O: '.###.|#...#|#...#|#...#|#...#|#...#|.###.',
  P: '####.|#...#|#...#|####.|#....|#....|#....',
  Q: '.###.|#...#|#...#|#...#|#.#.#|#..#.|.##.#',
  R: '####.|#...#|#...#|####.|#.#..|#..#.|#...#',
  S: '.####|#....|#....|.###.|....#|....#|####.',
  T: '#####|..#..|..#..|..#..|..#..|..#..|..#..',
  U: '#...#|#...#|#...#|#...#|#...#|#...#|.###.',
  V: '#...#|#...#|#...#|#...#|#...#|.#.#.|..#..',
  W: '#...#|#...#|#...#|#.#.#|#.#.#|#.#.#|.#.#.',
  X: '#...#|#...#|.#.#.|..#..|.#.#.|#...#|#...#',
  Y: '#...#|#...#|.#.#.|..#..|..#..|..#..|..#..',
  Z: '#####|....#|...#.|..#..|.#...|#....|#####',
  '.': '.....|.....|.....|.....|.....|.##..|.##..',
  ',': '.....|.....|.....|.....|.##..|..#..|.#...',
  ':': '.....|.##..|.##..|.....|.##..|.##..|.....',
  '-': '.....|.....|.....|#####|.....|.....|.....',
  '+': '.....|..#..|..#..|#####|..#..|..#..|.....',
  _: '.....|.....|.....|.....|.....|.....|#####',
  '/': '.....|....#|...#.|..#..|.#...|#....|.....',
  '#': '.#.#.|.#.#.|#####|.#.#.|#####|.#.#.|.#.#.',
  '=': '.....|.....|#####|.....|#####|.....|.....',
  '%': '##...|##..#|...#.|..#..|.#...|#..##|...##',
  '(': '...#.|..#..|.#...|.#...|.#...|..#..|...#.',
  ')': '.#...|..#..|...#.|...#.|...#.|..#..|.#...',
  '?': '.###.|#...#|....#|...#.|..#..|.....|..#..',
  '!': '..#..|..#..|..#..|..#..|..#..|.....|..#..',
  "'": '..#..|..#..|.#...|.....|.....|.....|.....',
  x: '.....|.....|#...#|.#.#.|..#..|.#.#.|#...#',
};

const PARSED = new Map<string, Uint8Array>();
for (const [ch, rows] of Object.entries(GLYPHS)) {
  const bits = new Uint8Array(35);
  rows.split('|').forEach((row, y) => [...row].forEach((c, x) => (bits[y * 5 + x] = c === '#' ? 1 : 0)));
  PARSED.set(ch, bits);
}

export const GLYPH_W = 5;
export const GLYPH_H = 7;
/** Horizontal advance per character at scale 1 (glyph + 1 px spacing). */
export const ADVANCE = 6;

function glyph(ch: string): Uint8Array {
  return PARSED.get(ch) ?? PARSED.get(ch.toUpperCase()) ?? PARSED.get('?')!;
}

/** Width in pixels of `text` at `scale`. */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * ADVANCE - 1) * scale;
}

/**
 * Draws `text` into an interleaved raw image (`channels` bytes per pixel,
 * `width` pixels per row) with its top-left corner at (x, y); clipped to the image.
 */
export function drawText(
  img: Uint8Array,
  width: number,
  height: number,
  channels: number,
  x: number,
  y: number,
  text: string,
  color: number[],
  scale = 1,
): void {
  let cx = x;
  for (const ch of text) {
    // 'x' has its own glyph (a multiplication sign in "4x4"); other lower-case maps to upper.
    const bits = ch === 'x' ? PARSED.get('x')! : glyph(ch);
    for (let gy = 0; gy < GLYPH_H; gy++) {
      for (let gx = 0; gx < GLYPH_W; gx++) {
        if (!bits[gy * GLYPH_W + gx]) continue;
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) {
            const px = cx + gx * scale + sx;
            const py = y + gy * scale + sy;
            if (px < 0 || py < 0 || px >= width || py >= height) continue;
            const o = (py * width + px) * channels;
            for (let c = 0; c < channels; c++) img[o + c] = color[c] ?? 255;
          }
        }
      }
    }
    cx += ADVANCE * scale;
  }
}
