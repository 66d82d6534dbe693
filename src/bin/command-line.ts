/**
 * What every shoebot command-line tool does with its arguments and its end: parse the command line
 * (node:util parseArgs), answer --help on stdout, report a usage error with the help on stderr (exit
 * code 2), and turn a failure into one line (exit code 1) — with the stack only for errors nobody
 * expected, since those are bugs to report.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Values<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>['values'];

/**
 * Parses `config` (as parseArgs does; `args` defaults to the process's). Returns the option values,
 * or the exit code when there is nothing more to do: 0 after printing `help` for --help/-h (the
 * config must declare a boolean `help` option), 2 after a usage error.
 */
export function parseCommandLine<T extends ParseArgsConfig>(config: T, help: string): Values<T> | number {
  let values: Values<T>;
  try {
    values = parseArgs(config).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${help}`);
    return 2;
  }
  if ((values as { help?: unknown }).help) {
    process.stdout.write(help);
    return 0;
  }
  return values;
}

export interface RunOptions {
  /** Errors with a message the user can act on (default: all); others are printed with their stack. */
  expected?: (err: unknown) => boolean;
  /** Extra text after the message (e.g. what to do next). */
  hint?: (err: unknown) => string;
}

/** Runs a tool's main function and exits with its code; a failure is `<name> failed: <message>`, exit 1. */
export function runCli(name: string, main: () => Promise<number>, opts: RunOptions = {}): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      const expected = opts.expected?.(err) ?? true;
      const text = expected ? ((err as Error)?.message ?? String(err)) : String((err as Error)?.stack ?? err);
      process.stderr.write(`${name} failed: ${text}${opts.hint?.(err) ?? ''}\n`);
      process.exit(1);
    },
  );
}
