/**
 * Loads a native TensorFlow package (tfjs-node-gpu, tfjs-node) in a child process and reports what
 * happened. A child, because libtensorflow writes its complaints to file descriptor 2 from C++
 * (where this process cannot catch them) and a broken native library may crash whoever loads it.
 * Two ways a GPU install fails, both seen in tfjs issues #8362/#8187/#8269:
 *  - the binding itself does not load: `require` throws the dynamic loader's message
 *    ("libtensorflow.so.2: cannot open shared object file");
 *  - it loads, but libtensorflow cannot open CUDA/cuDNN ("Could not load dynamic library
 *    'libcudart.so.11.0'") and silently runs on the CPU.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

export interface NativeProbe {
  pkg: string;
  installed: boolean;
  /** It loaded and registered the `tensorflow` backend. */
  loaded: boolean;
  /** The loaded backend runs on a GPU (NodeJSKernelBackend.isUsingGpuDevice). */
  gpu: boolean;
  /** First line of the load error, when it did not load. */
  error?: string;
  /** Shared libraries the loader or libtensorflow could not open, in the order reported. */
  missingLibraries: string[];
}

// Run as CommonJS by `node -e`: tfjs-node is a CommonJS package.
const PROBE = `
(async () => {
  const out = {};
  try {
    const tf = require(process.argv[1]);
    await tf.ready();
    out.backend = tf.getBackend();
    out.gpu = tf.backend().isUsingGpuDevice === true;
  } catch (e) {
    out.error = String((e && e.message) || e);
  }
  process.stdout.write(JSON.stringify(out));
})();
`;

/** The libraries named in a loader error or in libtensorflow's dso_loader warnings. */
export function missingLibrariesIn(text: string): string[] {
  const libs: string[] = [];
  const patterns = [
    /Could not load dynamic library '([^']+)'/g,
    /([\w.+-]+\.so(?:\.[\w.]+)?): cannot open shared object file/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) libs.push(m[1]);
  return [...new Set(libs)];
}

/** Resolves `pkg` the way src/tf does; undefined when it is not installed. */
export function resolveNative(pkg: string): string | undefined {
  try {
    return require.resolve(pkg);
  } catch {
    return undefined;
  }
}

export async function probeNative(pkg: string, timeoutMs = 120_000): Promise<NativeProbe> {
  const entry = resolveNative(pkg);
  const base = { pkg, installed: Boolean(entry), loaded: false, gpu: false, missingLibraries: [] as string[] };
  if (!entry) return base;
  const { stdout, stderr, error } = await new Promise<{ stdout: string; stderr: string; error?: Error }>((resolve) => {
    execFile(
      process.execPath,
      ['-e', PROBE, entry],
      { timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ stdout, stderr, ...(err ? { error: err } : {}) }),
    );
  });
  let out: { backend?: string; gpu?: boolean; error?: string } = {};
  try {
    out = JSON.parse(stdout) as typeof out;
  } catch {
    const signal = (error as { signal?: string } | undefined)?.signal;
    out.error = signal ? `loading it killed the process (${signal})` : (error?.message ?? 'the probe printed nothing');
  }
  const loaded = !out.error && out.backend === 'tensorflow';
  return {
    ...base,
    loaded,
    gpu: loaded && out.gpu === true,
    ...(out.error
      ? { error: out.error.split('\n')[0] }
      : loaded
        ? {}
        : { error: `the active backend was ${out.backend}, not tensorflow` }),
    missingLibraries: missingLibrariesIn(`${out.error ?? ''}\n${stderr}`),
  };
}
