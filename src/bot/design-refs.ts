/**
 * Design references in commands: parsing what members type (`#123`), finding the design only where
 * they may see it (this server, or their own DMs), and autocomplete suggestions for design options.
 */
import { MAX_DESIGN_ID } from './custom-id.ts';
import { UserError } from './errors.ts';
import type { DesignRow } from './store.ts';
import type { BotContext } from './types.ts';

/**
 * Parses a design reference as the bot shows it: `#123`, `123` or
 * `design #123` (spaces allowed). Throws a UserError naming `option` otherwise.
 */
export function parseDesignRef(value: unknown, option: string): number {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : '';
  const m = /^\s*(?:design\s*)?#?\s*(\d{1,10})\s*$/i.exec(text);
  const id = m ? Number(m[1]) : NaN;
  if (!Number.isInteger(id) || id < 1 || id > MAX_DESIGN_ID) {
    const shown = text.trim() ? ` (got \`${text.trim().slice(0, 40).replace(/`/g, "'")}\`)` : '';
    throw new UserError(`\`${option}\` must be a design id as shown under every design, like \`#42\`${shown}.`);
  }
  return id;
}

/**
 * The design `id` if it belongs to this guild (or, in DMs, to the member's own DMs: `userId`).
 * Designs of other servers, and other members' DM designs, are "not found": their existence is
 * not revealed.
 */
export async function findGuildDesign(
  ctx: BotContext,
  id: number,
  guildId: string | null,
  userId?: string,
): Promise<DesignRow> {
  const d = await ctx.store.findDesign(id);
  if (!d || (d.guildId ?? null) !== guildId || !visibleInDm(d, guildId, userId)) {
    throw new UserError(
      `I can't find design #${id} ${guildId ? 'in this server' : 'here'}. Use the id shown under a design, like \`#42\`.`,
    );
  }
  return d;
}

/**
 * Whether `d` may be offered where `guildId` is: outside servers (guildId null) every DM design
 * shares guildId null, so only the member's own (`userId`) count.
 */
export function visibleInDm(
  d: Pick<DesignRow, 'requesterId'>,
  guildId: string | null,
  userId: string | undefined,
): boolean {
  return guildId !== null || d.requesterId === userId;
}

/** Discord shows at most 25 autocomplete choices. */
const MAX_CHOICES = 25;

function ago(ms: number): string {
  const min = Math.max(0, Math.round(ms / 60_000));
  if (min === 0) return 'just now';
  if (min < 60) return `${min} min ago`;
  const h = Math.round(min / 60);
  return h < 48 ? `${h} h ago` : `${Math.round(h / 24)} days ago`;
}

/**
 * Autocomplete choices for a design option: this guild's most-voted designs,
 * then its newest, whose id starts with the digits typed so far, without
 * `exclude` (the design already picked in the other option). Only this
 * guild's designs are ever offered (in DMs, only `userId`'s own DM designs).
 */
export async function suggestDesigns(
  ctx: BotContext,
  guildId: string | null,
  typed: string,
  exclude?: number,
  now = Date.now(),
  userId?: string,
): Promise<{ name: string; value: string }[]> {
  const digits = typed.replace(/\D/g, '');
  const [top, recent] = await Promise.all([ctx.store.topDesigns(guildId, 10), ctx.store.recentDesigns(guildId, 100)]);
  const seen = new Set<number>();
  const out: { name: string; value: string }[] = [];
  for (const { design: d, votes } of [...top, ...recent]) {
    if (seen.has(d.id) || d.id === exclude || !String(d.id).startsWith(digits) || !visibleInDm(d, guildId, userId))
      continue;
    seen.add(d.id);
    const vote = votes ? ` · ${votes} vote${votes === 1 ? '' : 's'}` : '';
    out.push({ name: `#${d.id} · ${d.kind}${vote} · ${ago(now - d.createdAt.getTime())}`, value: `#${d.id}` });
    if (out.length === MAX_CHOICES) break;
  }
  return out;
}
