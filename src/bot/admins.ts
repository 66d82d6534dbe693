/**
 * Shoebot's admins (who may run /train): ADMIN_USER_IDS plus, unless ADMIN_APP_OWNERS=false, the
 * people who control the Discord application, so a fresh install has an admin without
 * configuration. Those are fetched once at start-up (GET /applications/@me); if that fails the
 * bot continues with ADMIN_USER_IDS alone.
 */
import { Team, TeamMemberMembershipState, TeamMemberRole, type Client, type ClientApplication } from 'discord.js';
import type { Logger } from 'pino';

export class Admins {
  private readonly configured: ReadonlySet<string>;
  private fromApplication: ReadonlySet<string> = new Set();

  constructor(configuredIds: readonly string[]) {
    this.configured = new Set(configuredIds);
  }

  has(userId: string): boolean {
    return this.configured.has(userId) || this.fromApplication.has(userId);
  }

  /** The admins taken from the application (replaces the previous ones). */
  setApplicationAdmins(ids: readonly string[]): void {
    this.fromApplication = new Set(ids);
  }

  get applicationAdminIds(): string[] {
    return [...this.fromApplication];
  }
}

/**
 * The user ids that control `app`: its owner, or for a team-owned application the team's owner
 * and the members who accepted the invitation with the admin or developer role (developers can
 * reset the bot's token, so they control it anyway; read-only members and pending invitations
 * do not).
 */
export function applicationAdminIds(app: Pick<ClientApplication, 'owner'>): string[] {
  const owner = app.owner;
  if (!owner) return [];
  if (!(owner instanceof Team)) return [owner.id];
  const ids = new Set<string>();
  if (owner.ownerId) ids.add(owner.ownerId);
  for (const m of owner.members.values()) {
    const controls = m.role === TeamMemberRole.Admin || m.role === TeamMemberRole.Developer;
    if (controls && m.membershipState === TeamMemberMembershipState.Accepted) ids.add(m.id);
  }
  return [...ids];
}

/** Fetches the application and makes the people who control it admins; logs and keeps going on failure. */
export async function loadApplicationAdmins(client: Client<true>, admins: Admins, log: Logger): Promise<void> {
  try {
    const app = await client.application.fetch();
    const ids = applicationAdminIds(app);
    admins.setApplicationAdmins(ids);
    log.info(
      { admins: ids, team: app.owner instanceof Team },
      'application owner(s) are shoebot admins (ADMIN_APP_OWNERS=false to opt out)',
    );
  } catch (err) {
    log.warn({ err }, 'could not fetch the Discord application: only ADMIN_USER_IDS are shoebot admins');
  }
}
