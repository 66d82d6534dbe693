/**
 * REST routes about the application and its bot: gateway info (GET /gateway/bot recommends the
 * shard count), users, the application and its owner (GET /applications/@me), and slash-command
 * registration (global or per guild: GET, bulk PUT, POST).
 */
import type { RegisteredCommand } from './models.ts';
import { applicationOwnerPayload, userPayload } from './payloads.ts';
import type { RestCall, RestContext } from './rest-call.ts';
import { snowflake } from './snowflakes.ts';
import type { FakeState } from './state.ts';

/** Gateway info, users and the application. */
export function applicationRoutes(call: RestCall, { state }: RestContext): boolean {
  const { method, route } = call;
  let g: RegExpExecArray | null;
  if (method === 'GET' && (route === '/gateway/bot' || route === '/gateway')) {
    return call.send(200, {
      url: state.gatewayUrl,
      shards: state.recommendedShards,
      session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 1 },
    });
  }
  if (method === 'GET' && route === '/users/@me') return call.send(200, userPayload(state.botUser));
  if (method === 'GET' && (g = /^\/users\/(\d+)$/.exec(route))) {
    const u = state.users.get(g[1]);
    return u ? call.send(200, userPayload(u)) : call.notFound(10013, 'Unknown User');
  }
  if (method === 'GET' && (route === '/applications/@me' || route === `/oauth2/applications/@me`)) {
    if (state.application.fail) return call.send(403, { message: 'Missing Access', code: 50001 });
    return call.send(200, {
      id: state.applicationId,
      name: state.botUser.username,
      flags: 0,
      bot: userPayload(state.botUser),
      description: '',
      icon: null,
      ...applicationOwnerPayload(state),
    });
  }
  return false;
}

/** Command registration: /applications/:id/commands and /applications/:id/guilds/:guild/commands. */
export function commandRoutes(call: RestCall, { state }: RestContext): boolean {
  const g = /^\/applications\/(\d+)\/(?:guilds\/(\d+)\/)?commands$/.exec(call.route);
  if (!g) return false;
  if (g[1] !== state.applicationId) return call.notFound(10002, 'Unknown Application');
  const guildId = g[2];
  const { method, body } = call;
  if (method === 'GET') return call.send(200, registered(state, guildId));
  if (method === 'PUT') {
    if (!Array.isArray(body)) return call.send(400, { message: 'Invalid Form Body', code: 50035 });
    return call.send(200, replaceCommands(state, guildId, body));
  }
  if (method === 'POST') return call.send(201, addCommand(state, guildId, body));
  return false;
}

function registered(state: FakeState, guildId: string | undefined): RegisteredCommand[] {
  return guildId ? (state.commands.guild.get(guildId) ?? []) : state.commands.global;
}

function setRegistered(state: FakeState, guildId: string | undefined, list: RegisteredCommand[]): void {
  if (guildId) state.commands.guild.set(guildId, list);
  else state.commands.global = list;
}

/** Bulk overwrite: the new list, keeping the ids of commands that keep their name. */
function replaceCommands(state: FakeState, guildId: string | undefined, body: any[]): RegisteredCommand[] {
  const list: RegisteredCommand[] = body.map((c: any) => {
    const prev = registered(state, guildId).find((p) => p.name === c.name);
    return {
      ...c,
      id: prev?.id ?? snowflake(),
      application_id: state.applicationId,
      type: c.type ?? 1,
      version: snowflake(),
      ...(guildId ? { guild_id: guildId } : {}),
    };
  });
  setRegistered(state, guildId, list);
  return list;
}

/** One command created (replacing one of the same name). */
function addCommand(state: FakeState, guildId: string | undefined, body: any): RegisteredCommand {
  const cmd: RegisteredCommand = {
    ...body,
    id: snowflake(),
    application_id: state.applicationId,
    type: body?.type ?? 1,
  };
  const list = registered(state, guildId)
    .filter((c) => c.name !== cmd.name)
    .concat(cmd);
  setRegistered(state, guildId, list);
  return cmd;
}
