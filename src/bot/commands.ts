/**
 * Loads the slash commands from commands/ (one module per command) and
 * registers them with Discord: in one guild when DISCORD_GUILD_ID is set
 * (instant), else globally (Discord may take up to an hour to show them).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Routes, type REST } from 'discord.js';
import type { BotCommand } from './types.ts';

export const COMMANDS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'commands');

function isCommand(m: unknown): m is BotCommand {
  const c = m as Partial<BotCommand> | undefined;
  return (
    !!c &&
    typeof c.execute === 'function' &&
    !!c.data &&
    typeof c.data.name === 'string' &&
    typeof c.data.toJSON === 'function'
  );
}

/** Imports every commands/*.ts module; throws naming the file if one doesn't export `data` + `execute`. */
export async function loadCommands(dir = COMMANDS_DIR): Promise<Map<string, BotCommand>> {
  const files = (await fs.readdir(dir))
    .filter((f) => /\.(ts|js|mjs)$/.test(f) && !f.endsWith('.d.ts') && !f.startsWith('_'))
    .sort();
  const out = new Map<string, BotCommand>();
  for (const f of files) {
    const mod = await import(pathToFileURL(path.join(dir, f)).href);
    if (!isCommand(mod))
      throw new Error(`${path.join(dir, f)} must export "data" (a SlashCommandBuilder) and "execute"`);
    if (out.has(mod.data.name)) throw new Error(`two command modules define /${mod.data.name}`);
    out.set(mod.data.name, {
      data: mod.data,
      execute: mod.execute,
      handleButton: mod.handleButton,
      autocomplete: mod.autocomplete,
    });
  }
  return out;
}

/**
 * Replaces the application's commands with `commands` (PUT: commands no
 * longer defined disappear). Returns where they were registered.
 */
export async function registerCommands(
  rest: REST,
  applicationId: string,
  commands: Iterable<BotCommand>,
  guildId?: string,
): Promise<{ scope: 'guild' | 'global'; count: number }> {
  const body = [...commands].map((c) => c.data.toJSON());
  const route = guildId
    ? Routes.applicationGuildCommands(applicationId, guildId)
    : Routes.applicationCommands(applicationId);
  const result = (await rest.put(route, { body })) as unknown[];
  return { scope: guildId ? 'guild' : 'global', count: result.length };
}
