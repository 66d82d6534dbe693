/**
 * Who may use /train, end to end against the fake Discord: the application's owner (or its team's
 * owner, admins and developers) without any configuration, plus ADMIN_USER_IDS; server
 * administrators may read /train status but not change training; Discord hides /train from
 * members who are not server administrators.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ADMINISTRATOR_PERMISSIONS } from '../fake-discord/discord-constants.ts';
import type { FakeDiscordOptions } from '../fake-discord/models.ts';
import { ADMIN_ID, BOB, expectNoUnhandled, startHarness, type Harness } from './harness.ts';

const OWNER = '400000000000000001';
const [TEAM_OWNER, TEAM_ADMIN, TEAM_DEV, TEAM_READ_ONLY, TEAM_INVITED] = [
  '400000000000000010',
  '400000000000000011',
  '400000000000000012',
  '400000000000000013',
  '400000000000000014',
];
const SERVER_ADMIN = '400000000000000020';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  expectNoUnhandled();
});

async function start(
  application: FakeDiscordOptions['application'],
  env: Record<string, string> = {},
): Promise<Harness> {
  h = await startHarness({ fake: { application }, env });
  return h;
}

/** The private answer to `/train <subcommand>` by `user`. */
async function train(harness: Harness, subcommand: string, user: string): Promise<string> {
  const r = await harness.fake.waitForReply(harness.fake.sendCommand({ name: 'train', subcommand, user }));
  expect(r.ephemeral).toBe(true);
  return r.message.content;
}

// The harness runs without a trainer: an admin's /train run gets this, anyone else a refusal first.
const DISABLED = 'Training is disabled in this shoebot.';

describe('shoebot admins', () => {
  it("the application's owner is an admin without ADMIN_USER_IDS; ADMIN_USER_IDS still count", async () => {
    const b = await start({ ownerId: OWNER });
    expect(await train(b, 'run', OWNER)).toBe(DISABLED);
    expect(await train(b, 'status', OWNER)).toContain('**Shoebot training**');
    expect(await train(b, 'run', ADMIN_ID)).toBe(DISABLED);
    expect(await train(b, 'run', BOB)).toContain('Only shoebot admins can use `/train`');
    expect(b.logLines.some((l) => l.includes('are shoebot admins') && l.includes(OWNER))).toBe(true);
  });

  it("a team's owner and its accepted admins and developers are admins; read-only members and invitations are not", async () => {
    const b = await start({
      team: {
        ownerId: TEAM_OWNER,
        members: [
          { id: TEAM_OWNER, role: 'admin' },
          { id: TEAM_ADMIN, role: 'admin' },
          { id: TEAM_DEV, role: 'developer' },
          { id: TEAM_READ_ONLY, role: 'read_only' },
          { id: TEAM_INVITED, role: 'admin', membershipState: 1 },
        ],
      },
    });
    for (const id of [TEAM_OWNER, TEAM_ADMIN, TEAM_DEV]) expect(await train(b, 'run', id), id).toBe(DISABLED);
    for (const id of [TEAM_READ_ONLY, TEAM_INVITED])
      expect(await train(b, 'run', id), id).toContain('Only shoebot admins');
    // The team's pseudo-user (the application's `owner` field) is nobody's account.
    expect(b.bot.ctx.isAdmin(b.fake.application.team!.ownerId)).toBe(true);
  });

  it('ADMIN_APP_OWNERS=false leaves only ADMIN_USER_IDS', async () => {
    const b = await start({ ownerId: OWNER }, { ADMIN_APP_OWNERS: 'false' });
    expect(await train(b, 'run', OWNER)).toContain('Only shoebot admins');
    expect(await train(b, 'run', ADMIN_ID)).toBe(DISABLED);
  });

  it('starts with ADMIN_USER_IDS alone when the application cannot be fetched, and says so', async () => {
    const b = await start({ ownerId: OWNER, fail: true });
    expect(await train(b, 'run', OWNER)).toContain('Only shoebot admins');
    expect(await train(b, 'run', ADMIN_ID)).toBe(DISABLED);
    const warning = b.logLines
      .map((l) => JSON.parse(l))
      .find((l) => l.msg?.startsWith('could not fetch the Discord application'));
    expect(warning?.level).toBe(40);
  });
});

describe('/train and server administrators', () => {
  it('is registered for server administrators only (default_member_permissions)', async () => {
    const b = await start({});
    const cmd = (b.fake.commands.guild.get(b.fake.guild.id) ?? []).find((c) => c.name === 'train') as
      { default_member_permissions?: string | null } | undefined;
    expect(cmd?.default_member_permissions).toBe('8');
  });

  it('a server admin who is not a shoebot admin may read /train status, but not run, stop or roll back', async () => {
    const b = await start({ ownerId: OWNER });
    b.fake.user(SERVER_ADMIN).permissions = ADMINISTRATOR_PERMISSIONS;
    expect(await train(b, 'status', SERVER_ADMIN)).toContain('**Shoebot training**');
    for (const sub of ['run', 'stop', 'rollback']) {
      expect(await train(b, sub, SERVER_ADMIN), sub).toContain(
        'Only shoebot admins can run, stop or roll back training',
      );
    }
    // A member who is neither reads nothing.
    expect(await train(b, 'status', BOB)).toContain('Only shoebot admins can use `/train`');
  });
});
