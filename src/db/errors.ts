/** Recognising Prisma errors that repositories turn into ordinary results. */
import { Prisma } from './generated/client.ts';

/** Thrown when a row refers to a design that does not exist (foreign key violation). */
export class DesignNotFoundError extends Error {
  override name = 'DesignNotFoundError';
  constructor(readonly designId: number) {
    super(`Design ${designId} does not exist`);
  }
}

function known(e: unknown, code: string): e is Prisma.PrismaClientKnownRequestError {
  return e instanceof Prisma.PrismaClientKnownRequestError && e.code === code;
}

/**
 * A raw query ($executeRaw/$queryRaw) that fails reports P2010; the driver adapter's classification
 * of the database error is in `meta.driverAdapterError.cause.kind`.
 */
function rawKind(e: unknown): string | undefined {
  if (!known(e, 'P2010')) return undefined;
  const kind = (e.meta as { driverAdapterError?: { cause?: { kind?: unknown } } } | undefined)?.driverAdapterError
    ?.cause?.kind;
  return typeof kind === 'string' ? kind : undefined;
}

/**
 * True for a unique-constraint violation (P2002). With driver adapters (Prisma 7) the violation's
 * detail is in `meta.driverAdapterError.cause.constraint`, not `meta.target`: SQLite reports the
 * columns (`fields`), PostgreSQL the index name (`index`, Prisma's `<Model>_<a>_<b>_key`). When
 * `fields` is given, the violation must be on exactly those columns.
 */
export function isUniqueViolation(e: unknown, fields?: string[]): boolean {
  if (!known(e, 'P2002') && rawKind(e) !== 'UniqueConstraintViolation') return false;
  if (!fields) return true;
  const meta = (e as Prisma.PrismaClientKnownRequestError).meta as
    | { target?: unknown; driverAdapterError?: { cause?: { constraint?: { fields?: unknown; index?: unknown } } } }
    | undefined;
  const constraint = meta?.driverAdapterError?.cause?.constraint;
  const got = constraint?.fields ?? meta?.target;
  if (Array.isArray(got)) return got.length === fields.length && fields.every((f) => got.includes(f));
  if (typeof constraint?.index === 'string') return constraint.index.endsWith(`_${fields.join('_')}_key`);
  return true; // The code alone is conclusive; the detail is a bonus.
}

/** True for a foreign-key violation (P2003, or a raw query's), e.g. a vote on a design that was never stored. */
export function isForeignKeyViolation(e: unknown): boolean {
  return known(e, 'P2003') || rawKind(e) === 'ForeignKeyConstraintViolation';
}
