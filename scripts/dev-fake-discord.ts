/**
 * `npm run dev:fake-discord [-- --bot] [--port N]`: a local Discord stand-in
 * to watch shoebot work without a Discord account.
 *
 * Starts the fake Discord server (test/fake-discord/server.ts), prints the
 * environment that points the bot at it, optionally starts the bot too
 * (--bot), then reads commands from the terminal: slash commands as a user
 * types them, button presses, reactions. Images are saved under
 * data/fake-discord/ and shown on a small web page the server serves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { FakeInteraction, FakeMessage } from '../test/fake-discord/models.ts';
import { FakeDiscord } from '../test/fake-discord/server.ts';

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const value = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
if (flag('--help') || flag('-h')) {
  console.log(
    'Usage: npm run dev:fake-discord -- [--bot] [--port N] [--verbose]\n' +
      '  --bot      also start the bot (npm start) pointed at the fake\n' +
      '  --port N   listen on N (default 8787)\n' +
      '  --verbose  print every request the fake receives',
  );
  process.exit(0);
}

const USERS: Record<string, string> = {
  alice: '100000000000000001',
  bob: '100000000000000002',
  admin: '200000000000000001',
};
const OUT_DIR = path.resolve('data', 'fake-discord');
fs.mkdirSync(OUT_DIR, { recursive: true });

const fake = await FakeDiscord.start({
  port: Number(value('--port') ?? 8787),
  token: process.env.FAKE_DISCORD_TOKEN ?? 'fake-discord-demo-token-0123456789',
  guilds: [{ id: '300000000000000001', channelIds: ['300000000000000002'], name: 'Shoebot demo' }],
  onLog: flag('--verbose') ? (l) => console.log(`  [fake] ${l}`) : undefined,
});
for (const [name, id] of Object.entries(USERS)) fake.user(id, name);
let me = 'alice';

const env = {
  DISCORD_API_BASE: fake.apiBase,
  DISCORD_TOKEN: fake.token,
  DISCORD_GUILD_ID: fake.guild.id,
  ADMIN_USER_IDS: USERS.admin,
  // One person plays every member here: 5 requests a minute would stall trying community mode.
  SHOE_RATE_PER_MINUTE: process.env.SHOE_RATE_PER_MINUTE ?? '60',
};
console.log(`Fake Discord listening on ${fake.baseUrl} (messages and images: open ${fake.baseUrl}/ in a browser)`);
let bot: ChildProcess | undefined;
if (flag('--bot')) {
  bot = spawn(process.execPath, ['--import', 'tsx', 'src/bin/bot.ts'], {
    env: { ...process.env, ...env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  bot.on('exit', (code) => console.log(`bot exited (${code})`));
  console.log('Starting the bot with that environment…');
} else {
  console.log('Point the bot at it (another terminal):\n');
  console.log(
    `  ${Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')} npm start\n`,
  );
}
console.log('Type "help" for commands. You are alice; "as bob" / "as admin" switches.');

let lastWithButtons: FakeMessage | undefined;
let lastDesign: FakeMessage | undefined;

function show(reply: { ephemeral: boolean; message: FakeMessage }): void {
  const m = reply.message;
  console.log(`\n<shoebot>${reply.ephemeral ? ' (only you can see this)' : ''} message ${m.id}`);
  if (m.content) console.log(m.content.replace(/^/gm, '  '));
  for (const a of m.attachments) {
    const file = path.join(OUT_DIR, `${m.id}-${a.filename}`);
    fs.writeFileSync(file, a.data);
    console.log(`  [image] ${file}  (${a.url})`);
  }
  const buttons = (m.components as { components?: { label?: string; custom_id?: string }[] }[]).flatMap(
    (r) => r.components ?? [],
  );
  if (buttons.length) {
    lastWithButtons = m;
    console.log('  buttons: ' + buttons.map((b, i) => `[${i + 1}] ${b.label}`).join('  ') + '   (press N)');
  }
  if (/design #\d+/.test(m.content) && !reply.ephemeral) lastDesign = m;
}

function follow(it: FakeInteraction): void {
  // Show the answer and any follow-up (e.g. an error after a deferral).
  const watch = (index: number) =>
    fake.waitForReply(it, { index, timeoutMs: 10 * 60_000 }).then(
      (r) => {
        show(r);
        watch(index + 1);
      },
      () => undefined,
    );
  watch(0);
}

function parseOptions(tokens: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const t of tokens) {
    const m = /^([a-z_]+):(.*)$/.exec(t);
    if (!m) continue;
    out[m[1]] = /^-?\d+(\.\d+)?$/.test(m[2]) ? Number(m[2]) : m[2];
  }
  return out;
}

const HELP = `Commands:
  /shoe [count:N] [seed:N] [mode:community] [strength:0-1]     /gallery [top:N]
  /blend a:#ID b:#ID [format:webp|gif]   morph between two designs (ids shown under designs)
  /train status|run|stop|rollback [steps:N] [version:V]   (as admin)
  press N                      press button N of the last message with buttons
  react E [MESSAGE_ID]         react with E (1-4 for 1️⃣-4️⃣, or an emoji) on the last design message
  unreact E [MESSAGE_ID]       remove that reaction
  as alice|bob|admin|<id>      act as another user
  drop                         drop the gateway connection (the bot resumes)
  quit`;

const rl = readline.createInterface({ input: process.stdin, output: process.stdout, prompt: '> ' });
rl.prompt();
rl.on('line', (line) => {
  const [head, ...rest] = line.trim().split(/\s+/);
  try {
    if (!head) {
      /* empty */
    } else if (head === 'help') console.log(HELP);
    else if (head === 'quit' || head === 'exit') return void shutdown();
    else if (head === 'as') {
      me = rest[0] ?? 'alice';
      fake.user(USERS[me] ?? me, me);
      console.log(`you are now ${me} (${USERS[me] ?? me})`);
    } else if (head.startsWith('/')) {
      const name = head.slice(1);
      const sub = rest[0] && !rest[0].includes(':') ? rest[0] : undefined;
      const options = parseOptions(sub ? rest.slice(1) : rest);
      follow(fake.sendCommand({ name, subcommand: sub, options, user: USERS[me] ?? me }));
    } else if (head === 'press') {
      if (!lastWithButtons) throw new Error('no message with buttons yet');
      const buttons = (lastWithButtons.components as { components?: { custom_id?: string }[] }[]).flatMap(
        (r) => r.components ?? [],
      );
      const b = buttons[Number(rest[0]) - 1];
      if (!b?.custom_id) throw new Error(`no button ${rest[0]}`);
      follow(fake.pressButton({ message: lastWithButtons, customId: b.custom_id, user: USERS[me] ?? me }));
    } else if (head === 'react' || head === 'unreact') {
      const e = rest[0] ?? '1';
      const emoji = /^[1-4]$/.test(e) ? `${e}\uFE0F\u20E3` : e;
      const messageId = rest[1] ?? lastDesign?.id;
      if (!messageId) throw new Error('no design message yet');
      if (head === 'react') fake.addReaction({ messageId, emoji, user: USERS[me] ?? me });
      else fake.removeReaction({ messageId, emoji, user: USERS[me] ?? me });
      console.log(`${me} ${head === 'react' ? 'reacted' : 'removed'} ${emoji} on ${messageId}`);
    } else if (head === 'drop') {
      fake.dropConnections();
      console.log('gateway dropped');
    } else console.log('unknown command; type "help"');
  } catch (err) {
    console.log(`error: ${(err as Error).message}`);
  }
  rl.prompt();
});
rl.on('close', () => void shutdown());

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  // The bot first (it must not keep reconnecting), then the fake.
  if (bot && bot.exitCode === null) {
    bot.kill('SIGTERM');
    await new Promise((r) => bot!.once('exit', r));
  }
  await fake.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
