import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, registerSecret } from '../../src/log.ts';

const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, stream };
}

describe('logging', () => {
  it('writes structured JSON and never the token', () => {
    registerSecret('a-custom-secret-token-value');
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'info', destination: stream });
    logger.info({ token: TOKEN, headers: { authorization: `Bot ${TOKEN}` } }, 'login');
    logger.error({ err: new Error(`request failed with Bot ${TOKEN}`) }, 'failed');
    logger.warn(`plain message with a-custom-secret-token-value inside`);
    logger.info({ config: { DISCORD_TOKEN: TOKEN } }, 'config');
    const all = lines.join('');
    expect(lines.length).toBe(4);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain('a-custom-secret-token-value');
    expect(all).toContain('[redacted]');
    expect(JSON.parse(lines[0]).msg).toBe('login');
  });
});
