/**
 * Interactions shoebot does not expect, end to end against the fake Discord: every kind gets a
 * clear private answer (never silence, never the generic apology), ids in custom_ids are checked
 * before any database call, and design buttons only reach designs the presser could see.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FakeInteraction } from '../fake-discord/models.ts';
import { ADMIN_ID, ALICE, BOB, expectNoUnhandled, startHarness, type Harness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  // Two servers: a design of the second must stay out of reach from the first.
  h = await startHarness({
    fake: { guilds: [{}, {}] },
    bot: { generation: { rateLimit: { count: 1000, windowMs: 60_000 } } },
  });
});
afterAll(async () => {
  await h?.close();
});
afterEach(() => {
  expectNoUnhandled();
});

/** Log lines of failures (level error): what reaches the generic apology. */
const failures = () => h.logLines.filter((l) => JSON.parse(l).level >= 50);

/** The bot's autocomplete answer (callback type 8) to `it`. */
async function suggestions(it: FakeInteraction): Promise<unknown[]> {
  const cb = await h.fake.waitForRequest((r) => r.route === `/interactions/${it.id}/${it.token}/callback`);
  expect(cb.body.type).toBe(8);
  return cb.body.data.choices;
}

async function shoeMessage(user: string, guildId?: string | null) {
  const reply = await h.fake.waitForReply(
    h.fake.sendCommand({ name: 'shoe', options: { count: 1, seed: 5 }, user, guildId }),
  );
  expect(reply.ephemeral, reply.message.content).toBe(false);
  await h.fake.waitForRequest(
    (r) => r.method === 'PUT' && r.route.includes(`/messages/${reply.message.id}/reactions/`),
  );
  return { message: reply.message, designs: await h.bot.ctx.store.findDesignsByMessage(reply.message.id) };
}

describe('unexpected interactions', () => {
  it('answers an autocomplete without a focused option with an empty list', async () => {
    const before = failures().length;
    // `focused` names no option that is sent: the interaction has none in focus.
    expect(
      await suggestions(h.fake.sendCommand({ name: 'blend', options: { a: '#1' }, focused: 'nothing', user: ALICE })),
    ).toEqual([]);
    expect(
      await suggestions(h.fake.sendCommand({ name: 'blend', options: {}, focused: 'nothing', user: ALICE })),
    ).toEqual([]);
    expect(failures().length).toBe(before);
  });

  it('/train rollback version: of the wrong type says what is wrong', async () => {
    const before = failures().length;
    for (const [value, type] of [
      [5, 4],
      [true, 5],
      [1.5, 10],
    ] as const) {
      const r = await h.fake.waitForReply(
        h.fake.sendCommand({
          name: 'train',
          subcommand: 'rollback',
          options: { version: value },
          optionTypes: { version: type },
          user: ADMIN_ID,
        }),
      );
      expect(r.ephemeral).toBe(true);
      expect(r.message.content).toMatch(/^`version` must be text, got a (number|true\/false value)\.$/);
    }
    expect(failures().length).toBe(before);
  });

  it('refuses forged custom_id numbers before the database sees them', async () => {
    const { message } = await shoeMessage(ALICE);
    const before = failures().length;
    const designs0 = await h.bot.ctx.store.db.design.count();
    for (const customId of [
      `shoe:var:99999999999999999999:${ALICE}`,
      `shoe:up:2147483648:${ALICE}`,
      `shoe:var:0:${ALICE}`,
      `shoe:var:-1:${ALICE}`,
      `shoe:up:1e3:${ALICE}`,
      `shoe:reroll:99999999999999999999:${ALICE}`,
      `shoe:reroll:0:${ALICE}`,
      'shoe:var:1:@everyone',
      `shoe:var:1:${ALICE}99999999999`,
    ]) {
      const r = await h.fake.waitForReply(h.fake.pressButton({ message, customId, user: ALICE }));
      expect(r.ephemeral, customId).toBe(true);
      expect(r.message.content, customId).toBe('This button no longer does anything.');
    }
    expect(failures().length).toBe(before);
    expect(await h.bot.ctx.store.db.design.count()).toBe(designs0);
  });

  it("buttons reach only designs of the presser's server, or in DMs their own", async () => {
    const other = h.fake.guilds[1].id;
    const elsewhere = await shoeMessage(BOB, other);
    const bobDm = await shoeMessage(BOB, null);
    const here = await shoeMessage(ALICE);
    const aliceDm = await shoeMessage(ALICE, null);
    const designs0 = await h.bot.ctx.store.db.design.count();
    const press = async (message: typeof here.message, customId: string) => {
      const r = await h.fake.waitForReply(h.fake.pressButton({ message, customId, user: ALICE }));
      expect(r.ephemeral, customId).toBe(true);
      return r.message.content;
    };
    // Alice forges her own buttons with other designs' ids.
    expect(await press(here.message, `shoe:var:${elsewhere.designs[0].id}:${ALICE}`)).toContain(
      `I can't find design #${elsewhere.designs[0].id} in this server`,
    );
    expect(await press(here.message, `shoe:up:${bobDm.designs[0].id}:${ALICE}`)).toContain(
      `I can't find design #${bobDm.designs[0].id} in this server`,
    );
    expect(await press(aliceDm.message, `shoe:up:${bobDm.designs[0].id}:${ALICE}`)).toContain(
      `I can't find design #${bobDm.designs[0].id} here`,
    );
    expect(await press(aliceDm.message, `shoe:var:${here.designs[0].id}:${ALICE}`)).toContain(
      `I can't find design #${here.designs[0].id} here`,
    );
    expect(await h.bot.ctx.store.db.design.count()).toBe(designs0);
    // Her own designs still work, in the server and in DMs.
    for (const [message, id] of [
      [here.message, here.designs[0].id],
      [aliceDm.message, aliceDm.designs[0].id],
    ] as const) {
      const r = await h.fake.waitForReply(
        h.fake.pressButton({ message, customId: `shoe:up:${id}:${ALICE}`, user: ALICE }),
      );
      expect(r.ephemeral, r.message.content).toBe(false);
      expect(r.message.content).toContain(`Design #${id}, upscaled`);
    }
  });

  it('answers context-menu commands, select menus and modal submits privately', async () => {
    const { message } = await shoeMessage(ALICE);
    const before = failures().length;
    const cases: [FakeInteraction, RegExp][] = [
      [
        h.fake.sendContextMenu({ name: 'Shoe this user', target: 'user', targetId: BOB, user: ALICE }),
        /no context-menu commands/,
      ],
      [
        h.fake.sendContextMenu({ name: 'Blend this', target: 'message', targetId: message.id, user: ALICE }),
        /no context-menu commands/,
      ],
      [h.fake.chooseInSelectMenu({ message, customId: 'shoe:pick', values: ['1'], user: ALICE }), /no select menus/],
      [h.fake.submitModal({ customId: 'shoe:name', fields: { name: 'Air' }, user: ALICE }), /no forms/],
    ];
    for (const [it, text] of cases) {
      const r = await h.fake.waitForReply(it);
      expect(r.ephemeral).toBe(true);
      expect(r.message.content).toMatch(text);
      expect(r.message.content).toContain('`/shoe`');
    }
    expect(failures().length).toBe(before);
  });
});
