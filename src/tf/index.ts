/**
 * The project's only door to TensorFlow.js. Chooses a backend once at start-up:
 * `tensorflow` (native, through @tensorflow/tfjs-node-gpu or tfjs-node when
 * installed), else WASM, else the pure-JS CPU backend; TF_BACKEND overrides.
 * Registers shoebot's own training kernels on WASM/CPU (stock WASM has no
 * Conv2DBackpropFilter; see src/tf/kernels).
 */
import type { TfBackendChoice } from '../config/env.ts';
import { registerFastKernels } from './kernels/register.ts';
import { loadNative, loadWasm, tf } from './tfjs.ts';

export { tf };
export type Tensor = tf.Tensor;

export type ActiveBackend = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** The tfjs backend name now active. */
  name: ActiveBackend;
  /** Human label for status pages: GPU, CPU (native), WASM or CPU (JS). */
  label: string;
  /** Why this backend was chosen (shown in logs and /train status). */
  reason: string;
  /** Native package that provided the tensorflow backend, if any. */
  nativePackage?: string;
  /** Whether the native backend sees a GPU. */
  gpu?: boolean;
}

let active: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;

/**
 * Runs `fn` and then removes every process-wide unhandledRejection /
 * uncaughtException listener added meanwhile. The WASM backend (Emscripten)
 * installs such listeners, which rethrow and so turn any stray rejection into
 * a crash of the whole bot; they appear during backend initialisation, not at
 * import, so the whole activation is wrapped.
 */
async function withoutNewCrashListeners<T>(fn: () => Promise<T>): Promise<T> {
  // Typed loosely: Node's overloads don't accept a union of event names.
  const proc = process as unknown as NodeJS.EventEmitter;
  const events = ['unhandledRejection', 'uncaughtException'];
  const before = new Map(events.map((e) => [e, new Set(proc.listeners(e))]));
  try {
    return await fn();
  } finally {
    for (const e of events) {
      for (const l of proc.listeners(e))
        if (!before.get(e)!.has(l)) proc.removeListener(e, l as (...a: unknown[]) => void);
    }
  }
}

async function activate(choice: TfBackendChoice): Promise<BackendInfo> {
  const tryNative = choice === 'auto' || choice === 'tensorflow';
  let nativeWhyNot = '';
  if (tryNative) {
    const native = loadNative();
    if (native.pkg && (await tf.setBackend('tensorflow'))) {
      await tf.ready();
      const gpu = native.pkg.endsWith('-gpu');
      return {
        name: 'tensorflow',
        label: gpu ? 'GPU (tfjs-node-gpu)' : 'CPU (tfjs-node)',
        reason: choice === 'tensorflow' ? 'TF_BACKEND=tensorflow' : `${native.pkg} is installed`,
        nativePackage: native.pkg,
        gpu,
      };
    }
    nativeWhyNot = native.error ?? 'native backend failed to initialise';
    if (choice === 'tensorflow') {
      throw new Error(
        `TF_BACKEND=tensorflow but no native TensorFlow is usable (${nativeWhyNot}). ` +
          'Install @tensorflow/tfjs-node-gpu (or tfjs-node), or set TF_BACKEND=auto.',
      );
    }
  }
  if (choice === 'auto' || choice === 'wasm') {
    try {
      await loadWasm();
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        registerFastKernels('wasm');
        return {
          name: 'wasm',
          label: 'WASM',
          reason:
            choice === 'wasm'
              ? 'TF_BACKEND=wasm'
              : `no native TensorFlow (${nativeWhyNot}); WASM is the fastest available`,
        };
      }
    } catch (err) {
      if (choice === 'wasm') throw new Error(`TF_BACKEND=wasm but the WASM backend failed: ${(err as Error).message}`);
      nativeWhyNot += `; WASM failed: ${(err as Error).message}`;
    }
  }
  await tf.setBackend('cpu');
  await tf.ready();
  registerFastKernels('cpu');
  return {
    name: 'cpu',
    label: 'CPU (JS)',
    reason: choice === 'cpu' ? 'TF_BACKEND=cpu' : `fallback: ${nativeWhyNot}`,
  };
}

/**
 * Chooses and activates the backend (once per process; later calls return the
 * same result). Must be awaited before any other tf call.
 */
export function initTf(choice: TfBackendChoice = 'auto'): Promise<BackendInfo> {
  pending ??= withoutNewCrashListeners(() => activate(choice)).then((info) => {
    active = info;
    return info;
  });
  return pending;
}

/** The active backend, or undefined before initTf() resolved. */
export function backendInfo(): BackendInfo | undefined {
  return active;
}

/**
 * Switches backend inside an already initialised process (tests compare
 * backends this way). Registers shoebot's kernels for it.
 */
export async function switchBackend(name: 'wasm' | 'cpu'): Promise<void> {
  await withoutNewCrashListeners(async () => {
    if (name === 'wasm' && !tf.findBackend('wasm')) await loadWasm();
    await tf.setBackend(name);
    await tf.ready();
  });
  registerFastKernels(name);
}
