/**
 * The TensorFlow.js packages themselves: the core library (imported once, here) and the backends'
 * packages, loaded on demand. Both the backend choice (index.ts) and shoebot's kernels (kernels/)
 * import tfjs from this module, so the kernels never import the module that registers them.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';

export { tf };

const require = createRequire(import.meta.url);

/**
 * Tries to load a native TensorFlow binding (tfjs-node-gpu, else tfjs-node), which registers the
 * `tensorflow` backend. Returns the package name loaded, or why none could be.
 */
export function loadNative(): { pkg?: string; error?: string } {
  const errors: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require(pkg);
      return { pkg };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      errors.push(
        code === 'MODULE_NOT_FOUND' ? `${pkg} not installed` : `${pkg}: ${(err as Error).message.split('\n')[0]}`,
      );
    }
  }
  return { error: errors.join('; ') };
}

/** Registers the WASM backend with tfjs (the package registers itself on import). No value out. */
export async function loadWasm(): Promise<void> {
  await import('@tensorflow/tfjs-backend-wasm');
}
