/**
 * `npm run lint`'s architecture check: the layering DEVELOPERS.md describes, enforced.
 *  - Imports between folders point down the layers below (and never sideways within a layer);
 *  - no import cycle between files;
 *  - TensorFlow.js is imported only inside src/tf (the only door);
 *  - package.json's scripts run programs from src/bin, bench/ or scripts/ only (no mains in
 *    library folders);
 *  - no source file grows past MAX_LINES (split it by job).
 * `--graph` prints the folder-level import graph (folders and arrows, with import counts).
 */
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
/** Top to bottom. A folder may import folders of lower layers only; folders sharing a layer do not import each other. */
const LAYERS: string[][] = [
  ['src/bin'],
  ['commands'],
  ['src/bot'],
  ['src/trainer', 'src/doctor'],
  ['src/gan', 'src/db', 'src/render'],
  ['src/data'],
  ['src/tf'],
  ['src/config', 'src/log.ts'],
];
const SCANNED = ['src', 'commands'];
const SKIPPED = new Set(['src/db/generated', 'src/db/generated-pg']);
const PROGRAM_DIRS = ['src/bin/', 'bench/', 'scripts/'];
const MAX_LINES = 350;

const rel = (f: string) => path.relative(ROOT, f).split(path.sep).join('/');

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIPPED.has(rel(p))) sourceFiles(p, out);
    } else if (/\.(ts|mjs)$/.test(e.name)) out.push(p);
  }
  return out;
}

/** Module specifiers a file imports (static, re-exports and dynamic), comments stripped. */
function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specs: string[] = [];
  for (const m of code.matchAll(
    /(?:^|[\s;])(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm,
  )) {
    specs.push(m[1] ?? m[2] ?? m[3]);
  }
  return specs;
}

/** The folder a file belongs to for layering: src/<folder>, src/log.ts, commands. */
function folderOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'src') return parts.length > 2 ? `src/${parts[1]}` : file;
  return parts[0];
}

const layerOf = new Map<string, number>();
LAYERS.forEach((folders, i) => folders.forEach((f) => layerOf.set(f, i)));

const files = SCANNED.flatMap((d) => sourceFiles(path.join(ROOT, d))).map(rel);
const problems: string[] = [];
const graph = new Map<string, string[]>();
const folderEdges = new Map<string, number>();

for (const file of files) {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const lines = text.split('\n').length - 1;
  if (lines > MAX_LINES) problems.push(`${file}: ${lines} lines (over ${MAX_LINES}): split it by job`);
  const from = folderOf(file);
  const targets: string[] = [];
  for (const spec of importsOf(text)) {
    if (spec.startsWith('@tensorflow/') && from !== 'src/tf')
      problems.push(`${file}: imports ${spec} (TensorFlow.js only through src/tf)`);
    if (!spec.startsWith('.')) continue;
    const target = rel(path.resolve(ROOT, path.dirname(file), spec));
    targets.push(target);
    const to = folderOf(target);
    if (to === from) continue;
    folderEdges.set(`${from} -> ${to}`, (folderEdges.get(`${from} -> ${to}`) ?? 0) + 1);
    const a = layerOf.get(from);
    const b = layerOf.get(to);
    if (a === undefined) problems.push(`${file}: folder ${from} has no layer in scripts/check-layout.ts`);
    else if (b === undefined) problems.push(`${file}: imports ${target}, outside the layered folders`);
    else if (b <= a)
      problems.push(`${file}: imports ${target} (${from} must not import ${to}: ${b < a ? 'upward' : 'sideways'})`);
  }
  graph.set(file, targets);
}

// File-level cycles: depth-first search, reporting each cycle once by its first file.
const state = new Map<string, 'open' | 'done'>();
const stack: string[] = [];
const seenCycles = new Set<string>();
function visit(f: string): void {
  state.set(f, 'open');
  stack.push(f);
  for (const t of graph.get(f) ?? []) {
    if (state.get(t) === 'open') {
      const cycle = stack.slice(stack.indexOf(t));
      const key = [...cycle].sort().join(' ');
      if (!seenCycles.has(key)) {
        seenCycles.add(key);
        problems.push(`import cycle: ${[...cycle, t].join(' -> ')}`);
      }
    } else if (!state.has(t) && graph.has(t)) visit(t);
  }
  stack.pop();
  state.set(f, 'done');
}
for (const f of files) if (!state.has(f)) visit(f);

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
for (const [name, cmd] of Object.entries(pkg.scripts)) {
  for (const m of cmd.matchAll(/(?:^|\s)((?:src|commands|bench|scripts|test)\/\S+\.(?:ts|mjs))/g)) {
    if (!PROGRAM_DIRS.some((d) => m[1].startsWith(d)))
      problems.push(`package.json script "${name}" runs ${m[1]}: programs live in ${PROGRAM_DIRS.join(', ')}`);
    if (!fs.existsSync(path.join(ROOT, m[1])))
      problems.push(`package.json script "${name}" runs ${m[1]}, which does not exist`);
  }
}

if (process.argv.includes('--graph')) {
  for (const [edge, n] of [...folderEdges].sort()) console.log(`${edge}  (${n})`);
}
const distinct = [...new Set(problems)];
if (distinct.length) {
  console.error(`layout: ${distinct.length} problem(s)\n${distinct.map((p) => `  ${p}`).join('\n')}`);
  process.exitCode = 1;
} else {
  console.log(`layout: ${files.length} files, ${LAYERS.length} layers, no upward or sideways import, no cycle`);
}
