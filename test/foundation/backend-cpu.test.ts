import { describe, expect, it } from 'vitest';
import { initTf, tf } from '../../src/tf/index.ts';

describe('TF_BACKEND=cpu', () => {
  it('uses the pure-JS CPU backend when asked', async () => {
    const info = await initTf('cpu');
    expect(info).toMatchObject({ name: 'cpu', reason: 'TF_BACKEND=cpu' });
    expect(tf.getBackend()).toBe('cpu');
  });
});
