/**
 * `npm run doctor`: checks everything shoebot depends on, as the bot would see it with this
 * configuration, and says how to fix each problem. Exit code 1 when something blocks the bot
 * (see src/doctor/storage-checks.ts for the severity rule), 0 with warnings only, 2 on a usage error.
 * It changes nothing (no migration, no database file, no checkpoint activated); its one write is a
 * test file created and removed in MODELS_DIR, the only real test of writability.
 */
import pino from 'pino';
import { ConfigError, loadConfig, type Config } from '../config/env.ts';
import { createLogger, registerSecret, setRootLogger } from '../log.ts';
import { backendCheck, cudaLibsCheck, detectNvidiaGpu, nodeCheck } from '../doctor/compute-checks.ts';
import { discordCheck } from '../doctor/discord-check.ts';
import { exitCode, fail, formatReport, type CheckResult } from '../doctor/report.ts';
import {
  checkpointCheck,
  databaseCheck,
  datasetCheck,
  diskCheck,
  modelsDirCheck,
  storagePlaces,
} from '../doctor/storage-checks.ts';
import { parseCommandLine, runCli } from './command-line.ts';

const HELP = `Usage: npm run doctor -- [--json]

Checks, with the configuration npm start would use (.env and the environment):
  Node.js version; the TensorFlow.js backend the bot would choose and why (native packages
  loaded in a child process, with the exact library the loader could not open); the CUDA and
  cuDNN libraries on the library path; the database (reachable, migrations applied); MODELS_DIR
  (writable, active checkpoint verified); the dataset the next training run would use; free
  disk space; Discord (API reachable, token accepted; the token is never printed).

Each line: ✓ fine, ⚠ works but worth fixing, ✗ blocks the bot; every problem has a fix.
Exit code 1 if something blocks, else 0.

Options:
  --json       print the results as JSON
  -h, --help   this text
`;

/**
 * The configuration, with each invalid variable reset to its default so the other checks still
 * run; the checks that depend on an invalid variable are skipped (their result says so).
 */
function configWithProblems(): { cfg: Config; problems: CheckResult[]; invalid: Set<string> } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const problems: CheckResult[] = [];
  const invalid = new Set<string>();
  for (;;) {
    try {
      return { cfg: loadConfig(env), problems, invalid };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const fresh = err.problems.filter((p) => !invalid.has(p.split(' ')[0]));
      if (!fresh.length) throw err;
      for (const p of fresh) {
        const key = p.split(' ')[0];
        invalid.add(key);
        env[key] = ''; // empty = unset, and it hides a .env value too
        problems.push(
          fail('config', `Configuration: ${p}`, `fix ${key} in .env or the environment (README, "Configuration")`),
        );
      }
    }
  }
}

const skipped = (id: string, what: string, keys: string[]): CheckResult =>
  fail(id, `${what}: not checked, ${keys.join(' and ')} is invalid`, `fix ${keys.join(' and ')} first`);

async function main(): Promise<number> {
  const args = parseCommandLine(
    { options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } },
    HELP,
  );
  if (typeof args === 'number') return args;
  // The report is stdout; the modules' own log lines (warnings and worse) go to stderr.
  setRootLogger(createLogger({ level: 'warn', destination: pino.destination({ dest: 2, sync: true }) }));

  const { cfg, problems, invalid } = configWithProblems();
  registerSecret(cfg.DISCORD_TOKEN);
  const bad = (...keys: string[]) => keys.filter((k) => invalid.has(k));
  const results: CheckResult[] = [nodeCheck(), ...problems];
  const gpu = detectNvidiaGpu();
  const backend = await backendCheck(cfg.TF_BACKEND, gpu);
  results.push(backend.result, cudaLibsCheck(backend.probes, gpu));
  results.push(
    bad('DATABASE_URL').length
      ? skipped('database', 'Database', ['DATABASE_URL'])
      : await databaseCheck(cfg.DATABASE_URL),
  );
  if (bad('MODELS_DIR').length) results.push(skipped('models-dir', 'MODELS_DIR', ['MODELS_DIR']));
  else {
    const models = modelsDirCheck(cfg.MODELS_DIR, cfg.TRAINER_MODE);
    results.push(models);
    // A missing or non-folder MODELS_DIR says it all; the checkpoint check would only repeat it.
    if (models.status !== 'fail') results.push(await checkpointCheck(cfg.MODELS_DIR));
  }
  const dataKeys = bad('MODELS_DIR', 'DATA_DIR');
  results.push(dataKeys.length ? skipped('dataset', 'Dataset', dataKeys) : await datasetCheck(cfg));
  results.push(...diskCheck(storagePlaces({ ...cfg, ...Object.fromEntries([...invalid].map((k) => [k, undefined])) })));
  const discordKeys = bad('DISCORD_API_BASE', 'DISCORD_TOKEN');
  results.push(
    discordKeys.length
      ? skipped('discord', 'Discord', discordKeys)
      : await discordCheck(cfg.DISCORD_API_BASE, cfg.DISCORD_TOKEN),
  );

  const code = exitCode(results);
  process.stdout.write(
    args.json ? JSON.stringify({ ok: code === 0, checks: results }, null, 2) + '\n' : formatReport(results),
  );
  return code;
}

runCli('doctor', main, { expected: () => false });
