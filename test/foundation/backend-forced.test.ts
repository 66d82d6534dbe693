import { describe, expect, it } from 'vitest';
import { initTf } from '../../src/tf/index.ts';

describe('TF_BACKEND override', () => {
  it('refuses TF_BACKEND=tensorflow with a clear message when no native package is installed', async () => {
    await expect(initTf('tensorflow')).rejects.toThrow(/TF_BACKEND=tensorflow.*tfjs-node-gpu/);
  });
});
