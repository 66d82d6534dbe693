/**
 * The API shapes (JSON as Discord sends it) of what the fake keeps: users, members, emoji,
 * guilds, messages and the application's owner.
 */
import { MEMBER_PERMISSIONS } from './discord-constants.ts';
import type { FakeGuild, FakeMessage, FakeUser } from './models.ts';
import { snowflake } from './snowflakes.ts';
import type { FakeState } from './state.ts';

/** A user as the API shows it. */
export function userPayload(u: FakeUser) {
  return {
    id: u.id,
    username: u.username,
    discriminator: '0',
    global_name: u.bot ? null : u.username,
    avatar: null,
    bot: u.bot ?? false,
    flags: 0,
    public_flags: 0,
  };
}

/** A user as a member of the fake's guilds, with their permissions. */
export function memberPayload(u: FakeUser) {
  return {
    user: userPayload(u),
    roles: [],
    permissions: u.permissions ?? MEMBER_PERMISSIONS,
    joined_at: new Date().toISOString(),
    premium_since: null,
    deaf: false,
    mute: false,
    pending: false,
    nick: null,
    avatar: null,
    flags: 0,
    communication_disabled_until: null,
  };
}

/** An emoji key ("1️⃣", or "name:id" / "a:name:id" for a custom one) as the API shows it. */
export function emojiPayload(emoji: string) {
  const m = /^(?:a:)?([\w~]+):(\d+)$/.exec(emoji);
  return m ? { id: m[2], name: m[1], animated: emoji.startsWith('a:') } : { id: null, name: emoji };
}

/** A guild's GUILD_CREATE: its channels, an @everyone role, and the bot as its one listed member. */
export function guildPayload(fake: FakeState, g: FakeGuild) {
  return {
    id: g.id,
    name: g.name,
    icon: null,
    owner_id: g.ownerId,
    unavailable: false,
    large: false,
    member_count: fake.users.size,
    joined_at: new Date().toISOString(),
    features: [],
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    mfa_level: 0,
    nsfw_level: 0,
    premium_tier: 0,
    preferred_locale: 'en-US',
    system_channel_flags: 0,
    roles: [everyoneRole(g)],
    emojis: [],
    stickers: [],
    channels: g.channels.map((c, i) => ({
      id: c.id,
      type: 0,
      name: c.name,
      guild_id: g.id,
      position: i,
      permission_overwrites: [],
      nsfw: false,
      parent_id: null,
    })),
    threads: [],
    members: [
      {
        user: userPayload(fake.botUser),
        roles: [],
        joined_at: new Date().toISOString(),
        deaf: false,
        mute: false,
        flags: 0,
      },
    ],
    presences: [],
    voice_states: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}

function everyoneRole(g: FakeGuild) {
  return {
    id: g.id,
    name: '@everyone',
    permissions: '2251799813685247',
    position: 0,
    color: 0,
    hoist: false,
    managed: false,
    mentionable: false,
    flags: 0,
  };
}

/** API shape of a stored message (an interaction's reply carries its interaction's metadata). */
export function messagePayload(fake: FakeState, m: FakeMessage) {
  return {
    id: m.id,
    type: m.interaction ? 20 : 0,
    channel_id: m.channel_id,
    guild_id: m.guild_id,
    author: userPayload(m.author),
    content: m.content,
    timestamp: m.timestamp,
    edited_timestamp: m.edited_timestamp,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: m.attachments.map(({ data: _data, ...a }) => a),
    embeds: m.embeds,
    components: m.components,
    reactions: reactionsPayload(fake, m),
    pinned: false,
    flags: m.flags,
    webhook_id: m.interaction ? fake.applicationId : undefined,
    application_id: m.interaction ? fake.applicationId : undefined,
    ...(m.interaction
      ? {
          interaction_metadata: {
            id: m.interaction.id,
            type: 2,
            user: userPayload(fake.user(m.interaction.userId)),
            authorizing_integration_owners: {},
          },
        }
      : {}),
  };
}

function reactionsPayload(fake: FakeState, m: FakeMessage) {
  return [...m.reactions.entries()]
    .filter(([, users]) => users.size > 0)
    .map(([emoji, users]) => ({
      emoji: emojiPayload(emoji),
      count: users.size,
      count_details: { burst: 0, normal: users.size },
      me: users.has(fake.botUser.id),
      me_burst: false,
      burst_colors: [],
    }));
}

/** `owner` and `team` of GET /applications/@me, as Discord sends them (a team-owned app's owner is a team pseudo-user). */
export function applicationOwnerPayload(fake: FakeState) {
  const { ownerId, team } = fake.application;
  if (team) {
    const teamId = snowflake();
    return {
      owner: { id: teamId, username: `team${teamId}`, discriminator: '0000', avatar: null, flags: 1024 },
      team: {
        id: teamId,
        name: 'Fake Team',
        icon: null,
        owner_user_id: team.ownerId,
        members: team.members.map((m) => ({
          team_id: teamId,
          user: userPayload(fake.user(m.id)),
          role: m.role ?? 'admin',
          membership_state: m.membershipState ?? 2,
          permissions: ['*'],
        })),
      },
    };
  }
  return ownerId ? { owner: userPayload(fake.user(ownerId)), team: null } : {};
}
