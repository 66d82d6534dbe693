/**
 * Snowflake ids like Discord's and the shard a guild's events go to.
 */

/** The shard Discord delivers a guild's events to: (guild_id >> 22) % shard_count. */
export function shardOf(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

/** A fresh snowflake whose guild would land on `shard` of `shardCount` (for test guilds). */
export function guildIdOnShard(shard: number, shardCount: number): string {
  for (;;) {
    const id = snowflake();
    const ms = BigInt(id) >> 22n;
    // Move the timestamp part to the next value with the wanted remainder.
    const delta = (BigInt(shard) - (ms % BigInt(shardCount)) + BigInt(shardCount)) % BigInt(shardCount);
    const out = ((ms + delta) << 22n) | (BigInt(id) & 0x3fffffn);
    if (shardOf(out.toString(), shardCount) === shard) return out.toString();
  }
}

// Snowflakes: increasing, 18-19 digits like Discord's.
let snowflakeCounter = 0n;
/** A new id: milliseconds since Discord's epoch, then a counter, so ids made in one process increase. */
export function snowflake(): string {
  const ms = BigInt(Date.now() - 1420070400000);
  snowflakeCounter = (snowflakeCounter + 1n) & 0xfffn;
  return ((ms << 22n) | (1n << 17n) | snowflakeCounter).toString();
}
