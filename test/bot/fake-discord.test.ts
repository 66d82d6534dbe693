/**
 * The fake Discord itself, with a bare discord.js client: it must behave like
 * Discord where a mistake of the bot would otherwise go unnoticed — intents
 * filter events, a wrong token is refused on the gateway and REST, and every
 * request is recorded.
 */
import { Client, GatewayIntentBits, Partials } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FakeDiscord } from '../fake-discord/server.ts';
import { guildIdOnShard, shardOf } from '../fake-discord/snowflakes.ts';
import { expectNoUnhandled, failFastOnUnhandledRejection, sleep } from './harness.ts';

failFastOnUnhandledRejection();
afterEach(() => expectNoUnhandled());

async function connect(
  fake: FakeDiscord,
  intents: number[],
  token = fake.token,
  shard?: [number, number],
): Promise<Client> {
  const client = new Client({
    intents,
    partials: [Partials.Message, Partials.Reaction],
    rest: { api: fake.apiBase },
    ...(shard ? { shards: shard[0], shardCount: shard[1] } : {}),
  });
  const ready = new Promise<void>((r) => client.once('clientReady', () => r()));
  await client.login(token);
  await ready;
  return client;
}

describe('fake Discord', () => {
  it('delivers reaction events only to clients that asked for the GuildMessageReactions intent', async () => {
    const fake = await FakeDiscord.start();
    const withIntent = await connect(fake, [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessageReactions]);
    const without = await connect(fake, [GatewayIntentBits.Guilds]);
    const got = { with: 0, without: 0 };
    withIntent.on('messageReactionAdd', () => got.with++);
    without.on('messageReactionAdd', () => got.without++);
    fake.addReaction({ messageId: '111111111111111111', emoji: '👍', user: '100000000000000009' });
    await fake.waitForGateway((g) => g.t === 'MESSAGE_REACTION_ADD');
    await sleep(200);
    expect(got).toEqual({ with: 1, without: 0 });
    // Interactions need no intent.
    let interactions = 0;
    without.on('interactionCreate', () => interactions++);
    fake.sendCommand({ name: 'anything' });
    await sleep(200);
    expect(interactions).toBe(1);
    await withIntent.destroy();
    await without.destroy();
    await fake.close();
  });

  it('refuses a wrong token on the gateway and on REST, and records requests', async () => {
    const fake = await FakeDiscord.start();
    const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiBase } });
    await expect(client.login('not-the-token-0123456789')).rejects.toThrow();
    await client.destroy();
    const res = await fetch(`${fake.apiBase}/v10/users/@me`, { headers: { authorization: 'Bot nope' } });
    expect(res.status).toBe(401);
    const ok = await fetch(`${fake.apiBase}/v10/users/@me`, { headers: { authorization: `Bot ${fake.token}` } });
    expect(((await ok.json()) as { id: string }).id).toBe(fake.botUser.id);
    const missing = await fetch(`${fake.apiBase}/v10/nowhere`, { headers: { authorization: `Bot ${fake.token}` } });
    expect(missing.status).toBe(404);
    expect(fake.requests.map((r) => [r.method, r.route, r.status]).slice(-3)).toEqual([
      ['GET', '/users/@me', 401],
      ['GET', '/users/@me', 200],
      ['GET', '/nowhere', 404],
    ]);
    await fake.close();
  });

  it('replays events missed while disconnected when the client resumes', async () => {
    const fake = await FakeDiscord.start();
    const client = await connect(fake, [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessageReactions]);
    const seen: string[] = [];
    client.on('messageReactionAdd', (r) => void seen.push(r.message.id));
    fake.dropConnections({ abrupt: true });
    // Delivered to the session while its socket is down: must arrive after RESUME.
    fake.addReaction({ messageId: '222222222222222222', emoji: '👍', user: '100000000000000009' });
    await fake.waitForGateway((g) => g.t === 'RESUMED', { timeoutMs: 20_000 });
    await sleep(200);
    expect(seen).toEqual(['222222222222222222']);
    expect(fake.resumeCount).toBe(1);
    await client.destroy();
    await fake.close();
  });

  it('routes guilds and their events to the shard Discord would use, and resumes each shard on its own', async () => {
    const g0 = guildIdOnShard(0, 2);
    const g1 = guildIdOnShard(1, 2);
    expect([shardOf(g0, 2), shardOf(g1, 2)]).toEqual([0, 1]);
    // (id >> 22) % count, checked on a known id: 175928847299117063 >> 22 = 41944705796.
    expect(shardOf('175928847299117063', 2)).toBe(0);
    expect(shardOf('175928847299117063', 3)).toBe(41944705796 % 3);
    const fake = await FakeDiscord.start({ guilds: [{ id: g0 }, { id: g1 }], recommendedShards: 2 });
    const res = await fetch(`${fake.apiBase}/v10/gateway/bot`, { headers: { authorization: `Bot ${fake.token}` } });
    expect(((await res.json()) as { shards: number }).shards).toBe(2);
    const intents = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessageReactions];
    const s0 = await connect(fake, intents, fake.token, [0, 2]);
    const s1 = await connect(fake, intents, fake.token, [1, 2]);
    expect([...s0.guilds.cache.keys()]).toEqual([g0]);
    expect([...s1.guilds.cache.keys()]).toEqual([g1]);
    expect(
      fake
        .shardSessions()
        .map((s) => s.shard)
        .sort(),
    ).toEqual([
      [0, 2],
      [1, 2],
    ]);
    const seen: string[] = [];
    for (const [name, c] of [
      ['s0', s0],
      ['s1', s1],
    ] as const) {
      c.on('interactionCreate', (i) => void seen.push(`${name}:${i.guildId ?? 'dm'}`));
      c.on('messageReactionAdd', (r) => void seen.push(`${name}:reaction:${r.message.guildId}`));
    }
    fake.sendCommand({ name: 'x', guildId: g0, channelId: fake.guilds[0].channels[0].id });
    fake.sendCommand({ name: 'x', guildId: g1, channelId: fake.guilds[1].channels[0].id });
    fake.sendCommand({ name: 'x', guildId: null }); // a DM: shard 0
    fake.addReaction({
      messageId: '333333333333333333',
      emoji: '👍',
      user: '100000000000000009',
      guildId: g1,
      channelId: fake.guilds[1].channels[0].id,
    });
    await sleep(300);
    expect(seen.sort()).toEqual([`s0:${g0}`, 's0:dm', `s1:${g1}`, `s1:reaction:${g1}`].sort());

    // Shard 1 alone drops; its missed event arrives after its own RESUME; shard 0 keeps its socket.
    seen.length = 0;
    const since = fake.gatewayLog.length;
    fake.dropConnections({ abrupt: true, shard: 1 });
    fake.addReaction({
      messageId: '444444444444444444',
      emoji: '👍',
      user: '100000000000000009',
      guildId: g1,
      channelId: fake.guilds[1].channels[0].id,
    });
    await fake.waitForGateway((g) => g.t === 'RESUMED', { since, timeoutMs: 20_000 });
    await sleep(200);
    expect(seen).toEqual([`s1:reaction:${g1}`]);
    expect(fake.resumeCount).toBe(1);
    expect(fake.shardSessions().every((s) => s.connected)).toBe(true);
    await s0.destroy();
    await s1.destroy();
    await fake.close();
  });

  it('closes the gateway with 4010 for a shard id outside the shard count', async () => {
    const fake = await FakeDiscord.start();
    const closed = new Promise<number>((resolve) => {
      const ws = new WebSocket(fake.gatewayUrl);
      ws.on('message', (data) => {
        if (JSON.parse(String(data)).op === 10)
          ws.send(JSON.stringify({ op: 2, d: { token: fake.token, intents: 1, properties: {}, shard: [2, 2] } }));
      });
      ws.on('close', (code) => resolve(code));
    });
    expect(await closed).toBe(4010);
    expect(fake.identifyCount).toBe(0);
    await fake.close();
  });
});
