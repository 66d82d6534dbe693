/**
 * Structured logging (pino). Every logger redacts the bot token: by key
 * (token, authorization headers) and by value (any string containing the
 * configured token is scrubbed before it is written).
 */
import pino, { type Logger, type DestinationStream } from 'pino';

const REDACT_KEYS = [
  'token',
  '*.token',
  'DISCORD_TOKEN',
  '*.DISCORD_TOKEN',
  'headers.authorization',
  '*.headers.authorization',
  'authorization',
  '*.authorization',
];

const secrets = new Set<string>();

/** Registers a secret whose value must never reach a log line. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 8) secrets.add(value);
}

/** Replaces every registered secret inside a string. */
export function scrub(text: string): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('[redacted]');
  // Discord bot tokens have a recognisable shape; scrub any that slipped through.
  return out.replace(/[A-Za-z\d_-]{23,28}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,40}/g, '[redacted]');
}

class ScrubbingStream implements DestinationStream {
  constructor(private readonly inner: DestinationStream) {}
  write(line: string): void {
    this.inner.write(scrub(line));
  }
}

export function createLogger(opts: { level?: string; name?: string; destination?: DestinationStream } = {}): Logger {
  const dest = opts.destination ?? pino.destination({ dest: 1, sync: false });
  return pino(
    {
      level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
      name: opts.name ?? 'shoebot',
      redact: { paths: REDACT_KEYS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    new ScrubbingStream(dest),
  );
}

let root: Logger | undefined;
/** The process-wide logger. */
export function log(): Logger {
  root ??= createLogger();
  return root;
}
export function setRootLogger(logger: Logger): void {
  root = logger;
}
