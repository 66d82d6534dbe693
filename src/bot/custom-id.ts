/**
 * Parts of a button's custom_id are input like any other: Discord hands back whatever string a
 * client sends, so a forged `shoe:var:99999999999999999999:…` must be refused here, before it
 * reaches the database (Prisma rejects ids outside a 32-bit Int with a validation error).
 */

/** Largest design id: designs are a Prisma `Int` (32-bit signed) on SQLite and PostgreSQL alike. */
export const MAX_DESIGN_ID = 2_147_483_647;

/** The whole number written in `part` if it is plain digits within min..max, else undefined. */
export function customIdInt(part: string | undefined, min: number, max: number): number | undefined {
  // At most 10 digits: longer strings cannot be in range and Number() would round them.
  if (part === undefined || !/^\d{1,10}$/.test(part)) return undefined;
  const n = Number(part);
  return n >= min && n <= max ? n : undefined;
}

/** Whether `part` looks like a Discord user id (the requester named in every design button). */
export function isSnowflake(part: string | undefined): part is string {
  return part !== undefined && /^\d{17,20}$/.test(part);
}
