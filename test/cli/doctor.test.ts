/**
 * `npm run doctor` run for real (a child process, as an operator runs it) against the fake Discord
 * and throw-away folders, once per problem it can detect on this machine.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDataset } from '../../src/data/dataset.ts';
import { migrate } from '../../src/db/migrate.ts';
import { missingLibrariesIn } from '../../src/doctor/native-probe.ts';
import { createLogger, setRootLogger } from '../../src/log.ts';
import { FakeDiscord } from '../fake-discord/server.ts';
import { freshPgDatabase } from '../setup/pg-url.ts';
import { tempDir } from '../helpers/temp.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSX = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const DOCTOR = path.join(ROOT, 'src/bin/doctor.ts');
const FIXTURE_MODELS = path.join(ROOT, 'test/fixtures/grey-32');
const NOBODY = 65534;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let fake: FakeDiscord;
let healthy: Record<string, string>;

/** A complete install in a temp folder: the grey 32 px fixture model, its dataset, a migrated SQLite file. */
async function install(): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = tempDir('doctor-');
  fs.chmodSync(dir, 0o755); // readable by the unprivileged user of the read-only test
  const models = path.join(dir, 'models');
  fs.cpSync(FIXTURE_MODELS, models, { recursive: true });
  const px = 32 * 32;
  const bytes = (n: number) => Uint8Array.from({ length: n * px }, (_, i) => (i * 37) % 256);
  await writeDataset(path.join(dir, 'data/datasets/fashion-mnist-sneakers'), {
    name: 'fashion-mnist-sneakers',
    source: 'doctor test',
    height: 32,
    width: 32,
    channels: 1,
    background: 'black',
    train: bytes(8),
    heldout: bytes(4),
  });
  const dbUrl = `file:${path.join(dir, 'data/shoebot.db')}`;
  await migrate(dbUrl);
  return {
    dir,
    env: {
      DISCORD_TOKEN: fake.token,
      DISCORD_API_BASE: fake.apiBase,
      DATABASE_URL: dbUrl,
      MODELS_DIR: models,
      DATA_DIR: path.join(dir, 'data'),
    },
  };
}

/** Runs the doctor in `cwd` with exactly `env` (plus PATH/HOME), optionally as another user. */
function doctor(env: Record<string, string>, opts: { args?: string[]; uid?: number; cwd?: string } = {}): Promise<Run> {
  const home = opts.cwd ?? tempDir('doctor-home-');
  fs.chmodSync(home, 0o777);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, DOCTOR, ...(opts.args ?? [])],
      {
        cwd: home,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LD_LIBRARY_PATH: '', ...env },
        ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
        timeout: 120_000,
      },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

/** The report line for one check (the line starting with its symbol and `prefix`). */
const line = (r: Run, prefix: RegExp): string =>
  r.stdout.split('\n').find((l) => prefix.test(l)) ?? `(no line matching ${prefix} in:\n${r.stdout}${r.stderr})`;

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

beforeAll(async () => {
  setRootLogger(createLogger({ level: 'warn' })); // migrate()'s "applied" lines are noise here
  fake = await FakeDiscord.start();
  healthy = (await install()).env;
});
afterAll(async () => {
  await fake?.close();
});

describe('npm run doctor', () => {
  it('passes a healthy install (exit 0), naming the CPU/WASM backend and why, and never prints the token', async () => {
    const [text, json] = await Promise.all([doctor(healthy), doctor(healthy, { args: ['--json'] })]);
    expect(text.code, text.stdout + text.stderr).toBe(0);
    expect(text.stdout).not.toMatch(/^[⚠✗]/m);
    // No native package can install here: WASM, with the reason.
    expect(line(text, /^✓ TensorFlow\.js backend/)).toMatch(
      /WASM \(no native TensorFlow \(@tensorflow\/tfjs-node-gpu not installed/,
    );
    expect(line(text, /^✓ Database/)).toMatch(/reachable, all \d+ migrations applied/);
    expect(line(text, /^✓ Active checkpoint/)).toMatch(/20261128-121616-s002146: verified \(step 2146, 32x32x1/);
    expect(line(text, /^✓ Dataset/)).toMatch(
      /"fashion-mnist-sneakers" .*8 train \+ 4 held-out images, 32x32x1, fingerprint verified/,
    );
    expect(line(text, /^✓ MODELS_DIR/)).toMatch(/writable/);
    expect(line(text, /^✓ Disk/)).toMatch(/GB free/);
    expect(line(text, /^✓ Discord/)).toMatch(/reachable, token accepted for shoebot/);
    expect(text.stdout + text.stderr).not.toContain(fake.token);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { ok: boolean; checks: { id: string; status: string }[] };
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.id)).toEqual(
      expect.arrayContaining([
        'node',
        'backend',
        'cuda',
        'database',
        'models-dir',
        'checkpoint',
        'dataset',
        'disk',
        'discord',
      ]),
    );
    // The doctor only reads: the install it checked is unchanged (no write-test file left behind).
    expect(fs.readdirSync(healthy.MODELS_DIR).filter((n) => n.startsWith('.doctor'))).toEqual([]);
  });

  it('tells a wrong token (401) from an unreachable API base, exit 1 for both', async () => {
    const port = await closedPort();
    const wrongToken = 'wrong.token.value-that-must-not-be-printed';
    const [wrong, unreachable] = await Promise.all([
      doctor({ ...healthy, DISCORD_TOKEN: wrongToken }),
      doctor({ ...healthy, DISCORD_API_BASE: `http://127.0.0.1:${port}/api` }),
    ]);
    expect(wrong.code).toBe(1);
    expect(line(wrong, /^✗ Discord/)).toMatch(/reachable, but the token was refused \(401 Unauthorized\)/);
    expect(wrong.stdout + wrong.stderr).not.toContain(wrongToken);
    expect(unreachable.code).toBe(1);
    expect(line(unreachable, /^✗ Discord/)).toMatch(
      new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}/api \\(ECONNREFUSED\\)`),
    );
    expect(unreachable.stdout).toMatch(/fix: check DISCORD_API_BASE/);
  });

  it('reports a bad DATABASE_URL: an unsupported scheme, and a PostgreSQL server that is not there (password never shown)', async () => {
    const port = await closedPort();
    const [scheme, pg] = await Promise.all([
      doctor({ ...healthy, DATABASE_URL: 'mysql://root@localhost/shoebot' }),
      doctor({ ...healthy, DATABASE_URL: `postgresql://shoebot:s3cretPass@127.0.0.1:${port}/shoebot` }),
    ]);
    expect(scheme.code).toBe(1);
    expect(line(scheme, /^✗ Configuration/)).toMatch(/DATABASE_URL must be a SQLite file URL/);
    expect(line(scheme, /^✗ Database/)).toMatch(/not checked, DATABASE_URL is invalid/);
    // The other checks still ran with the rest of the configuration.
    expect(line(scheme, /^✓ Discord/)).toMatch(/token accepted/);
    expect(pg.code).toBe(1);
    expect(line(pg, /^✗ Database/)).toMatch(
      new RegExp(`Cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`),
    );
    expect(pg.stdout + pg.stderr).not.toContain('s3cretPass');
  });

  it('checks a PostgreSQL database: pending migrations are a warning (npm start applies them), then all applied', async () => {
    const url = await freshPgDatabase();
    const fresh = await doctor({ ...healthy, DATABASE_URL: url });
    expect(fresh.code, fresh.stdout).toBe(0);
    expect(line(fresh, /^⚠ Database/)).toMatch(
      /PostgreSQL postgresql:\/\/.*: reachable, (\d+) of \1 migration\(s\) pending/,
    );
    expect(fresh.stdout).toMatch(/fix: `npm start` applies them, or `npm run db:deploy` now/);
    await migrate(url);
    const migrated = await doctor({ ...healthy, DATABASE_URL: url });
    expect(line(migrated, /^✓ Database/)).toMatch(/PostgreSQL .*: reachable, all \d+ migrations applied/);
    expect(migrated.stdout + migrated.stderr).not.toContain(new URL(url).password || 'no password in this URL');
  });

  it('finds a corrupt active checkpoint (exit 1: nothing else verifies) and a missing dataset (a warning, exit 0)', async () => {
    const corrupt = await install();
    const weights = path.join(corrupt.env.MODELS_DIR, 'checkpoints/20261128-121616-s002146/generator/weights.bin');
    const bytes = fs.readFileSync(weights);
    bytes[100] ^= 0xff;
    fs.writeFileSync(weights, bytes);
    const [bad, noData] = await Promise.all([
      doctor(corrupt.env),
      doctor({ ...healthy, DATA_DIR: tempDir('doctor-nodata-') }),
    ]);
    expect(bad.code).toBe(1);
    expect(line(bad, /^✗ Active checkpoint/)).toMatch(
      /generator\/weights\.bin does not match its sha256 checksum.*no other checkpoint verifies/,
    );
    expect(noData.code, noData.stdout).toBe(0);
    expect(line(noData, /^⚠ Dataset/)).toMatch(
      /"fashion-mnist-sneakers" for the next training run: not found under .*; the bot serves \/shoe but cannot train/,
    );
    expect(noData.stdout).toMatch(/fix: create it on the bot host with `sudo apt-get install dataset-fashion-mnist`/);
  });

  it('names the library a native tfjs-node-gpu cannot load, and the CUDA versions found against the ones it needs', async (ctx) => {
    // A stand-in package whose binding really links libcudart.so.11.0, built here with gcc: the
    // dynamic loader's refusal is the one a CUDA 12 host gives (tfjs#8362). Only the package is ours.
    let gcc = true;
    try {
      execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    } catch {
      gcc = false;
    }
    if (!gcc) return ctx.skip('needs gcc to build the stand-in binding');
    const dir = tempDir('doctor-native-');
    const src = path.join(dir, 'empty.c');
    fs.writeFileSync(src, 'int shoebot_doctor_stub(void) { return 0; }\n');
    const stub = path.join(dir, 'stub');
    fs.mkdirSync(stub);
    execFileSync('gcc', [
      '-shared',
      '-fPIC',
      '-o',
      path.join(stub, 'libcudart.so.11.0'),
      '-Wl,-soname,libcudart.so.11.0',
      src,
    ]);
    const pkg = path.join(dir, 'node_modules/@tensorflow/tfjs-node-gpu');
    fs.mkdirSync(pkg, { recursive: true });
    execFileSync('gcc', [
      '-shared',
      '-fPIC',
      '-o',
      path.join(pkg, 'tfjs_binding.node'),
      src,
      `-L${stub}`,
      '-Wl,--no-as-needed',
      '-l:libcudart.so.11.0',
    ]);
    fs.rmSync(stub, { recursive: true }); // gone from the library path, as on a CUDA 12 host
    fs.writeFileSync(
      path.join(pkg, 'package.json'),
      JSON.stringify({ name: '@tensorflow/tfjs-node-gpu', version: '4.22.0', main: 'index.js' }),
    );
    fs.writeFileSync(path.join(pkg, 'index.js'), "module.exports = require('./tfjs_binding.node');\n");
    // What a CUDA 12 host has: a newer runtime and cuDNN on LD_LIBRARY_PATH.
    const cuda12 = path.join(dir, 'cuda-12/lib64');
    fs.mkdirSync(cuda12, { recursive: true });
    for (const f of ['libcudart.so.12', 'libcudart.so.12.4.127', 'libcudnn.so.9'])
      fs.writeFileSync(path.join(cuda12, f), '');

    const env = { ...healthy, NODE_PATH: path.join(dir, 'node_modules'), LD_LIBRARY_PATH: cuda12 };
    const [r, forced] = await Promise.all([doctor(env), doctor({ ...env, TF_BACKEND: 'tensorflow' })]);
    // Forced to the native backend, the bot would refuse to start: blocking, with the loader's words.
    expect(forced.code).toBe(1);
    expect(line(forced, /^✗ TensorFlow\.js backend/)).toMatch(
      /none \(TF_BACKEND=tensorflow but no native TensorFlow is usable .*libcudart\.so\.11\.0: cannot open shared object file/,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0); // it still serves, on WASM
    expect(line(r, /^⚠ TensorFlow\.js backend/)).toMatch(
      /WASM .*@tensorflow\/tfjs-node-gpu is installed but does not load \(missing libcudart\.so\.11\.0\)/,
    );
    expect(r.stdout).toMatch(
      /@tensorflow\/tfjs-node-gpu: installed but does not load: .*libcudart\.so\.11\.0: cannot open shared object file/,
    );
    const cuda = line(r, /^⚠ CUDA\/cuDNN/);
    expect(cuda).toMatch(
      /missing libcudart\.so\.11\.0, .*libcudnn\.so\.8 \(tfjs-node-gpu 4\.22 needs CUDA 11\.2 \+ cuDNN 8\.1/,
    );
    expect(cuda).toMatch(/libcudart [^;]*12, 12\.4\.127/);
    expect(cuda).toMatch(/libcudnn 9/);
  });

  it('finds a MODELS_DIR it cannot write in (fine for a serve-only bot)', async () => {
    const ro = await install();
    // Root may write anywhere whatever the mode bits say, so as root the doctor runs as nobody, for
    // whom the folder really is read-only; the database is left uncreated (nobody may not write it).
    const asRoot = process.getuid?.() === 0;
    execFileSync('chmod', ['-R', 'a+rX', ro.dir]);
    for (const d of [ro.env.MODELS_DIR, path.join(ro.env.MODELS_DIR, 'checkpoints')]) fs.chmodSync(d, 0o555);
    const env = { ...ro.env, DATABASE_URL: `file:${path.join(ro.dir, 'absent/shoebot.db')}` };
    const opts = asRoot ? { uid: NOBODY } : {};
    try {
      const [trains, serveOnly] = await Promise.all([doctor(env, opts), doctor({ ...env, TRAINER_MODE: 'off' }, opts)]);
      expect(trains.code, trains.stdout + trains.stderr).toBe(0);
      expect(line(trains, /^⚠ MODELS_DIR/)).toMatch(
        /cannot write in .* \(EACCES\): training could not save checkpoints or publish them/,
      );
      expect(line(trains, /^✓ Active checkpoint/)).toMatch(/verified/);
      expect(line(serveOnly, /^✓ MODELS_DIR/)).toMatch(/\(EACCES\): fine for this serve-only bot \(TRAINER_MODE=off\)/);
    } finally {
      for (const d of [ro.env.MODELS_DIR, path.join(ro.env.MODELS_DIR, 'checkpoints')]) fs.chmodSync(d, 0o755);
    }
  });
});

describe('missingLibrariesIn', () => {
  it("reads libtensorflow's dso_loader warnings (a GPU package that loads but falls back to the CPU)", () => {
    // Verbatim from tfjs#8362 and tfjs#8269: this path needs a real tfjs-node-gpu, which cannot install here.
    const stderr = [
      '2024-08-24 22:24:04.039287: W tensorflow/stream_executor/platform/default/dso_loader.cc:64] ' +
        "Could not load dynamic library 'libcudart.so.11.0'; dlerror: libcudart.so.11.0: cannot open shared object file: " +
        'No such file or directory; LD_LIBRARY_PATH: /usr/local/cuda:/usr/local/cuda/lib64:',
      '2024-05-06 00:05:33.767399: W tensorflow/stream_executor/platform/default/dso_loader.cc:64] ' +
        "Could not load dynamic library 'libcudnn.so.8'; dlerror: libcudnn.so.8: cannot open shared object file: " +
        'No such file or directory',
    ].join('\n');
    expect(missingLibrariesIn(stderr)).toEqual(['libcudart.so.11.0', 'libcudnn.so.8']);
    expect(
      missingLibrariesIn('Error: libtensorflow.so.2: cannot open shared object file: No such file or directory'),
    ).toEqual(['libtensorflow.so.2']);
    expect(missingLibrariesIn('Module did not self-register')).toEqual([]);
  });
});
