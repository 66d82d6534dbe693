/**
 * Prisma's schema engine compiled to WebAssembly (@prisma/schema-engine-wasm, same engine commit
 * as @prisma/client 7.10.0), loaded by hand once per process and run one instance at a time over
 * the driver adapters of schema-engine-adapters.ts, its log forwarded to ours and its errors
 * turned into MigrationErrors.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SchemaEngine, SchemaFilter } from '@prisma/schema-engine-wasm';
import { log } from '../log.ts';
import { toMigrationError } from './migration-error.ts';
import type { SchemaFile } from './migration-files.ts';
import { engineConnections, type EngineTarget } from './schema-engine-adapters.ts';

type EngineModule = typeof import('@prisma/schema-engine-wasm');

/** No external tables or enums: every engine command here manages the whole schema. */
export const NO_FILTER: SchemaFilter = { externalTables: [], externalEnums: [] };

let engineModule: Promise<EngineModule> | undefined;

// Node has WebAssembly, but this project's TypeScript lib (ES2023, no DOM) does not declare it.
const wasmApi = (
  globalThis as unknown as {
    WebAssembly: {
      instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>;
    };
  }
).WebAssembly;

/**
 * Loads the schema engine's WebAssembly once per process. Node 20 cannot `import` a .wasm file
 * (which the package's entry point does), so we instantiate it by hand with the package's
 * wasm-bindgen glue as the import object, as the generated entry point would.
 */
function loadEngine(): Promise<EngineModule> {
  engineModule ??= (async () => {
    const require = createRequire(import.meta.url);
    const entry = require.resolve('@prisma/schema-engine-wasm');
    const glue = (await import('@prisma/schema-engine-wasm/schema_engine_bg')) as EngineModule & {
      __wbg_set_wasm(exports: Record<string, unknown>): void;
    };
    const bytes = await fs.promises.readFile(path.join(path.dirname(entry), 'schema_engine_bg.wasm'));
    const { instance } = await wasmApi.instantiate(bytes, { './schema_engine_bg.js': glue });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return glue;
  })();
  engineModule.catch(() => (engineModule = undefined));
  return engineModule;
}

let engineQueue: Promise<unknown> = Promise.resolve();

/**
 * Runs `fn` with a schema engine connected to `target` (with `schema` as its datamodel, if given)
 * and returns its result; engine errors come out as MigrationErrors. One engine at a time per
 * process: better-sqlite3 waits for a lock synchronously (busy_timeout), so two engines of one
 * process contending for the same file would block the very event loop the lock holder needs to
 * finish, and fail after the timeout. Other processes simply wait their turn.
 */
export function withEngine<T>(
  target: EngineTarget,
  schema: SchemaFile | undefined,
  fn: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const run = engineQueue.then(() => runEngine(target, schema, fn));
  engineQueue = run.catch(() => undefined);
  return run;
}

/** The engine's log lines (JSON, or plain text) as debug entries of our log. */
function engineLog(): (line: string) => void {
  const logger = log().child({ module: 'db.migrate' });
  return (line: string) => {
    try {
      const entry = JSON.parse(line) as { level?: string; fields?: { message?: string } };
      logger.debug({ engine: entry.fields }, entry.fields?.message ?? 'schema engine');
    } catch {
      logger.debug({ engine: line }, 'schema engine');
    }
  };
}

/**
 * Runs `fn` with a schema engine connected to `target`, then frees the engine and closes every
 * connection it opened. Closing matters: the engine switches SQLite to `locking_mode=EXCLUSIVE`, so
 * a connection left open would lock every other reader and writer out; on PostgreSQL the engine's
 * advisory lock lives as long as its session.
 */
async function runEngine<T>(
  target: EngineTarget,
  schema: SchemaFile | undefined,
  fn: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const mod = await loadEngine();
  const connections = engineConnections(target);
  let engine: SchemaEngine | undefined;
  try {
    engine = await mod.SchemaEngine.new(
      { datamodels: schema ? [[schema.path, schema.content]] : undefined },
      engineLog(),
      bindMigrationAwareSqlAdapterFactory(connections.factory),
    );
    return await fn(engine);
  } catch (e) {
    // After a Rust panic no call into this instance is safe: the next one gets a fresh instance.
    if (e instanceof Error && /unreachable/.test(e.message)) engineModule = undefined;
    const err = toMigrationError(e);
    const jsError = connections.lastJsError();
    if (jsError && /External error id#/.test(err.message)) err.message += ` (${jsError.message})`;
    throw err;
  } finally {
    try {
      engine?.free();
    } catch {
      // A panicked engine may refuse to free; the connections below are what matter.
    }
    await connections.closeAll();
  }
}
