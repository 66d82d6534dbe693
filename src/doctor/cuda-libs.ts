/**
 * Which CUDA and cuDNN shared libraries the dynamic loader could find: on LD_LIBRARY_PATH, in
 * ldconfig's cache and in the usual /usr/local/cuda* folders. libtensorflow opens them by exact
 * soname at run time, so a CUDA 12 host with only libcudart.so.12 has "CUDA installed" and still no
 * GPU for tfjs-node-gpu; listing the versions found next to the ones needed makes that visible.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The sonames libtensorflow 2.9.1 (bundled by @tensorflow/tfjs-node-gpu 4.22) opens: CUDA 11.2's
 * runtime and maths libraries and cuDNN 8.1 (tfjs issues #8362, #8187, #8269, #8505).
 */
export const TFJS_GPU_NEEDS = [
  'libcudart.so.11.0',
  'libcublas.so.11',
  'libcublasLt.so.11',
  'libcufft.so.10',
  'libcurand.so.10',
  'libcusolver.so.11',
  'libcusparse.so.11',
  'libcudnn.so.8',
] as const;

/** Families reported (any version), keyed by the file-name stem. */
const FAMILIES = [
  'libcuda',
  'libcudart',
  'libcublas',
  'libcublasLt',
  'libcufft',
  'libcurand',
  'libcusolver',
  'libcusparse',
  'libcudnn',
];
const LIB_RE = new RegExp(`^(${FAMILIES.join('|')})\\.so(\\.[0-9][0-9.]*)?$`);

export interface FoundLib {
  /** File name as the loader asks for it, e.g. libcudart.so.12 or libcudnn.so.8.1.1. */
  name: string;
  dir: string;
}

export interface CudaLibsReport {
  /** Folders searched, in order. */
  searched: string[];
  found: FoundLib[];
  /** Entries of TFJS_GPU_NEEDS with no file of that exact name anywhere searched. */
  missing: string[];
  /** Versions per family seen, e.g. { libcudart: ['11.0', '12'] } (for the message). */
  versions: Record<string, string[]>;
}

/** ldconfig's cache: "\tlibcudart.so.12 (libc6,x86-64) => /usr/local/cuda/lib64/libcudart.so.12". */
function ldconfigEntries(): FoundLib[] {
  let out = '';
  for (const bin of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    try {
      out = execFileSync(bin, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
      break;
    } catch {
      // not on PATH (a non-root PATH often lacks /sbin): try the next
    }
  }
  const libs: FoundLib[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(\S+)\s+\(.*\)\s+=>\s+(\S+)$/.exec(line);
    if (m && LIB_RE.test(m[1])) libs.push({ name: m[1], dir: path.dirname(m[2]) });
  }
  return libs;
}

/** /usr/local/cuda, /usr/local/cuda-11.2, ...: their lib64 and targets/<arch>/lib folders. */
function cudaToolkitDirs(root = '/usr/local'): string[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(root).filter((n) => /^cuda(-[0-9.]+)?$/.test(n));
  } catch {
    return [];
  }
  return names.flatMap((n) => [
    path.join(root, n, 'lib64'),
    path.join(root, n, 'targets', `${process.arch === 'arm64' ? 'sbsa' : 'x86_64'}-linux`, 'lib'),
  ]);
}

function libsIn(dir: string): FoundLib[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((n) => LIB_RE.test(n))
      .map((name) => ({ name, dir }));
  } catch {
    return [];
  }
}

/** Scans the loader's places for CUDA/cuDNN libraries (`ldLibraryPath` defaults to LD_LIBRARY_PATH). */
export function findCudaLibs(ldLibraryPath = process.env.LD_LIBRARY_PATH ?? ''): CudaLibsReport {
  const dirs = [...new Set([...ldLibraryPath.split(':').filter(Boolean), ...cudaToolkitDirs()])];
  const found: FoundLib[] = [];
  const seen = new Set<string>();
  for (const lib of [...dirs.flatMap(libsIn), ...ldconfigEntries()]) {
    const key = path.join(lib.dir, lib.name);
    if (!seen.has(key)) {
      seen.add(key);
      found.push(lib);
    }
  }
  const names = new Set(found.map((l) => l.name));
  const versions: Record<string, string[]> = {};
  for (const l of found) {
    const m = LIB_RE.exec(l.name)!;
    if (!m[2]) continue; // the unversioned development symlink says nothing about the version
    (versions[m[1]] ??= []).push(m[2].slice(1));
  }
  for (const k of Object.keys(versions)) versions[k] = [...new Set(versions[k])].sort();
  return { searched: [...dirs, 'ldconfig -p'], found, missing: TFJS_GPU_NEEDS.filter((n) => !names.has(n)), versions };
}

/** One readable phrase: "libcudart 12, 12.2.140; libcudnn 9" or "none". */
export function describeVersions(versions: Record<string, string[]>): string {
  const parts = Object.entries(versions).map(([k, v]) => `${k} ${v.join(', ')}`);
  return parts.length ? parts.join('; ') : 'none';
}
