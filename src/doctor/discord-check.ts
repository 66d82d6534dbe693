/**
 * Doctor check of Discord: is the REST API (DISCORD_API_BASE, as the bot's client uses it) reachable,
 * and does it accept DISCORD_TOKEN? One GET /users/@me tells the three cases apart: 200 (accepted),
 * 401 (wrong or reset token), no answer (network, DNS, proxy). The token is sent, never shown.
 */
import { fail, ok, type CheckResult } from './report.ts';

/** discord.js appends the API version to DISCORD_API_BASE; so do we. */
const API_VERSION = 'v10';

export async function discordCheck(
  apiBase: string,
  token: string | undefined,
  timeoutMs = 10_000,
): Promise<CheckResult> {
  const url = `${apiBase}/${API_VERSION}/users/@me`;
  if (!token) {
    return fail(
      'discord',
      'Discord: DISCORD_TOKEN is not set; `npm start` needs it',
      'put DISCORD_TOKEN=<your bot token> in .env (README, "A Discord token and an invite")',
    );
  }
  let res: Response;
  try {
    res = await fetch(url, { headers: { Authorization: `Bot ${token}` }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why =
      e.name === 'TimeoutError'
        ? `no answer within ${timeoutMs / 1000} s`
        : (e.cause?.code ?? e.cause?.message ?? e.message);
    return fail(
      'discord',
      `Discord: cannot reach ${apiBase} (${why})`,
      apiBase === 'https://discord.com/api'
        ? "check this host's internet access, DNS and any firewall or proxy towards discord.com:443"
        : 'check DISCORD_API_BASE (unset it to use https://discord.com/api) and that the server behind it runs',
    );
  }
  const body = await res.text();
  if (res.status === 401) {
    return fail(
      'discord',
      `Discord at ${apiBase}: reachable, but the token was refused (401 Unauthorized)`,
      'copy a fresh token from the developer portal (Bot tab, Reset Token) into DISCORD_TOKEN',
    );
  }
  if (!res.ok) {
    return fail(
      'discord',
      `Discord at ${apiBase}: reachable, but GET /users/@me answered ${res.status} ${res.statusText}`,
      'try again later; if it persists, check https://discordstatus.com and DISCORD_API_BASE',
    );
  }
  let who = 'the bot user';
  try {
    const u = JSON.parse(body) as { username?: string; id?: string; bot?: boolean };
    if (u.username) who = `${u.username} (${u.id})`;
  } catch {
    // an answer without a body still means the token was accepted
  }
  return ok('discord', `Discord at ${apiBase}: reachable, token accepted for ${who}`);
}
