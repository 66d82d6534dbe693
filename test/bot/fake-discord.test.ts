/**
 * The fake Discord itself, with a bare discord.js client: it must behave like
 * Discord where a mistake of the bot would otherwise go unnoticed — intents
 * filter events, a wrong token is refused on the gateway and REST, and every
 * request is recorded.
 */
import { Client, GatewayIntentBits, Partials } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../fake-discord/server.ts';
import { expectNoUnhandled, failFastOnUnhandledRejection, sleep } from './harness.ts';

failFastOnUnhandledRejection();
afterEach(() => expectNoUnhandled());

async function connect(fake: FakeDiscord, intents: number[], token = fake.token): Promise<Client> {
  const client = new Client({ intents, partials: [Partials.Message, Partials.Reaction], rest: { api: fake.apiBase } });
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
});
