/**
 * Doctor checks of what shoebot computes on: Node.js, the TensorFlow.js backend the bot would pick
 * (and why), the NVIDIA GPU and the CUDA/cuDNN libraries tfjs-node-gpu needs.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { TfBackendChoice } from '../config/env.ts';
import { initTf, switchBackend, type BackendInfo } from '../tf/index.ts';
import { describeVersions, findCudaLibs, TFJS_GPU_NEEDS } from './cuda-libs.ts';
import { NATIVE_PACKAGES, probeNative, type NativeProbe } from './native-probe.ts';
import { fail, ok, warn, type CheckResult } from './report.ts';

const GPU_README = 'README, "GPU server"';
const MIN_NODE = [20, 19] as const;

export function nodeCheck(version = process.versions.node): CheckResult {
  const [major, minor] = version.split('.').map(Number);
  const good = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  const summary = `Node.js ${version} (shoebot needs >= ${MIN_NODE.join('.')})`;
  return good
    ? ok('node', summary)
    : fail('node', summary, `install Node.js 20.19 or newer (e.g. \`nvm install 20\`), then \`npm ci\``);
}

export interface NvidiaGpu {
  /** The kernel driver exposes a GPU (/dev/nvidia0 or /proc/driver/nvidia/gpus). */
  present: boolean;
  /** From nvidia-smi when it runs: "NVIDIA H100 80GB HBM3, 9.0, 550.54.15". */
  description?: string;
  /** Compute capability, e.g. 9.0 for Hopper. */
  computeCapability?: number;
}

export function detectNvidiaGpu(): NvidiaGpu {
  let present = fs.existsSync('/dev/nvidia0');
  try {
    present ||= fs.readdirSync('/proc/driver/nvidia/gpus').length > 0;
  } catch {
    // no NVIDIA kernel driver
  }
  if (!present) return { present };
  try {
    const line = execFileSync('nvidia-smi', ['--query-gpu=name,compute_cap,driver_version', '--format=csv,noheader'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    })
      .split('\n')[0]
      .trim();
    const cap = Number(line.split(',')[1]);
    return { present, description: line, ...(Number.isFinite(cap) ? { computeCapability: cap } : {}) };
  } catch {
    return { present };
  }
}

function probeLines(probes: NativeProbe[]): string[] {
  return probes.map((p) =>
    !p.installed
      ? `${p.pkg}: not installed`
      : p.loaded
        ? `${p.pkg}: loads, ${p.gpu ? 'runs on the GPU' : 'runs on the CPU'}${p.missingLibraries.length ? ` (could not open ${p.missingLibraries.join(', ')})` : ''}`
        : `${p.pkg}: installed but does not load: ${p.error}${p.missingLibraries.length ? ` (missing: ${p.missingLibraries.join(', ')})` : ''}`,
  );
}

const hopperNote = (gpu: NvidiaGpu): string[] =>
  gpu.computeCapability !== undefined && gpu.computeCapability >= 9
    ? [
        `compute capability ${gpu.computeCapability}: libtensorflow 2.9 has no native kernels for it; ` +
          `the first start JIT-compiles them from PTX (keep CUDA_CACHE_PATH/CUDA_CACHE_MAXSIZE, see ${GPU_README})`,
      ]
    : [];

/**
 * The backend the bot would choose with `choice` (TF_BACKEND), activated in this process exactly as
 * the bot does it, plus what each native package did when loaded on its own. Leaves a backend
 * active, so later checks can load checkpoints.
 */
export async function backendCheck(
  choice: TfBackendChoice,
  gpu: NvidiaGpu,
): Promise<{ result: CheckResult; probes: NativeProbe[] }> {
  const probes: NativeProbe[] = [];
  for (const pkg of NATIVE_PACKAGES) probes.push(await probeNative(pkg)); // one at a time: each may load a GPU
  const gpuLine = gpu.present
    ? [`NVIDIA GPU: ${gpu.description ?? 'present (nvidia-smi did not answer)'}`, ...hopperNote(gpu)]
    : ['no NVIDIA GPU visible (/dev/nvidia0)'];
  const details = [...probeLines(probes), ...gpuLine];
  let info: BackendInfo;
  try {
    info = await initTf(choice);
  } catch (err) {
    await switchBackend('cpu'); // so the checkpoint check can still run
    const fix = `install a working native package (${GPU_README}) or set TF_BACKEND=auto`;
    return { result: fail('backend', `TensorFlow.js backend: none (${(err as Error).message})`, fix, details), probes };
  }
  const summary = `TensorFlow.js backend: ${info.label} (${info.reason})`;
  const gpuPkg = probes.find((p) => p.pkg.endsWith('-gpu'))!;
  const broken = probes.filter((p) => p.installed && !p.loaded);
  if (info.name === 'tensorflow' && gpuPkg.loaded && !gpuPkg.gpu) {
    const why = gpuPkg.missingLibraries.length
      ? `libtensorflow could not open ${gpuPkg.missingLibraries.join(', ')}`
      : 'it found no usable GPU';
    return {
      result: warn(
        'backend',
        `${summary}: but tfjs-node-gpu runs on the CPU: ${why}`,
        `give it CUDA 11.2 + cuDNN 8.1 on LD_LIBRARY_PATH (${GPU_README})`,
        details,
      ),
      probes,
    };
  }
  if (broken.length) {
    const libs = broken.flatMap((p) => p.missingLibraries);
    return {
      result: warn(
        'backend',
        `${summary}: ${broken.map((p) => p.pkg).join(', ')} is installed but does not load${libs.length ? ` (missing ${libs.join(', ')})` : ''}`,
        libs.length
          ? `put the folder holding ${libs.join(', ')} on LD_LIBRARY_PATH (${GPU_README})`
          : `reinstall it (\`npm ci\`) and see ${GPU_README}`,
        details,
      ),
      probes,
    };
  }
  if (gpu.present && !(info.name === 'tensorflow' && gpuPkg.gpu)) {
    return {
      result: warn(
        'backend',
        `${summary}: an NVIDIA GPU is present but unused`,
        `install @tensorflow/tfjs-node-gpu with CUDA 11.2 + cuDNN 8.1 (${GPU_README})`,
        details,
      ),
      probes,
    };
  }
  if (info.name === 'cpu' && choice === 'auto') {
    return {
      result: warn('backend', summary, 'the WASM backend failed to load: reinstall with `npm ci`', details),
      probes,
    };
  }
  return { result: ok('backend', summary, details), probes };
}

/** CUDA/cuDNN on the library path, against what tfjs-node-gpu 4.22 (libtensorflow 2.9.1) opens. */
export function cudaLibsCheck(probes: NativeProbe[], gpu: NvidiaGpu): CheckResult {
  const r = findCudaLibs();
  const versions = describeVersions(r.versions);
  const details = [`searched: ${r.searched.join(', ')}`];
  const wanted = probes.some((p) => p.pkg.endsWith('-gpu') && p.installed) || gpu.present;
  if (!r.missing.length)
    return ok('cuda', `CUDA/cuDNN libraries for tfjs-node-gpu: all of ${TFJS_GPU_NEEDS.length} found`, details);
  const need = 'tfjs-node-gpu 4.22 needs CUDA 11.2 + cuDNN 8.1';
  if (!wanted)
    return ok(
      'cuda',
      `CUDA/cuDNN libraries: not needed here (no tfjs-node-gpu, no GPU); found ${versions} (${need})`,
      details,
    );
  return warn(
    'cuda',
    `CUDA/cuDNN libraries: missing ${r.missing.join(', ')} (${need}; found ${versions})`,
    `install the CUDA 11.2 runtime and cuDNN 8.1 beside any newer CUDA and add their folder to LD_LIBRARY_PATH (${GPU_README})`,
    details,
  );
}
