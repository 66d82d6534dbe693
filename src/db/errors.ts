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
 * True for a unique-constraint violation (P2002). With driver adapters (Prisma 7) the violated
 * fields are in `meta.driverAdapterError.cause.constraint.fields`, not `meta.target`; when `fields`
 * is given, the violation must be on exactly those columns.
 */
export function isUniqueViolation(e: unknown, fields?: string[]): boolean {
  if (!known(e, 'P2002')) return false;
  if (!fields) return true;
  const meta = e.meta as
    | { target?: unknown; driverAdapterError?: { cause?: { constraint?: { fields?: unknown } } } }
    | undefined;
  const got = meta?.driverAdapterError?.cause?.constraint?.fields ?? meta?.target;
  if (!Array.isArray(got)) return true; // The code alone is conclusive; the detail is a bonus.
  return got.length === fields.length && fields.every((f) => got.includes(f));
}

/** True for a foreign-key violation (P2003), e.g. a vote on a design that was never stored. */
export function isForeignKeyViolation(e: unknown): boolean {
  return known(e, 'P2003');
}
