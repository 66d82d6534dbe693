/**
 * What a migration failure looks like to an operator: MigrationError (a message worth showing as
 * is, with an optional code), and the translation of the schema engine's errors into one: one
 * line, no span trace, and a Rust panic named by the message the engine left in its panic
 * registry (installed here, when the migrator is first imported).
 */

/** A migration problem worth showing to an operator as is (no stack trace needed). */
export class MigrationError extends Error {
  override name = 'MigrationError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

// The engine reports Rust panics through this global; without it a panic surfaces as a bare
// "unreachable" with no hint of what went wrong.
const panicRegistry = ((globalThis as Record<string, unknown>).PRISMA_WASM_PANIC_REGISTRY ??= {
  message: '',
  set_message(this: { message: string }, m: string) {
    this.message = m;
  },
}) as { message?: string };

/** An engine error's message, stripped of the span trace ("   0: sql_schema_connector::..."). */
export function engineMessage(e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  if (/unreachable/.test(raw) && panicRegistry.message) return `schema engine panicked: ${panicRegistry.message}`;
  // One line for the operator: the engine puts the driver's message on a line of its own.
  return raw
    .split(/\n\s+0: /)[0]
    .trim()
    .replace(/\s*\n\s*/g, ': ');
}

/** Any error from the engine (or already a MigrationError) as a MigrationError keeping its string code. */
export function toMigrationError(e: unknown): MigrationError {
  if (e instanceof MigrationError) return e;
  const code = (e as { code?: unknown })?.code;
  return new MigrationError(engineMessage(e), typeof code === 'string' ? code : undefined);
}
