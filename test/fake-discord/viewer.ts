/**
 * What the fake serves outside /api: attachment bytes (the URLs in messages point here) and, at
 * `/`, a read-only HTML view of the default channel for people watching a demo.
 */
import type http from 'node:http';
import { FLAG_EPHEMERAL } from './discord-constants.ts';
import type { FakeMessage } from './models.ts';
import type { FakeState } from './state.ts';

/** Answers a non-API request: an attachment's bytes, the channel view at `/`, else 404. */
export function serveExtras(state: FakeState, url: URL, res: http.ServerResponse): void {
  const a = /^\/attachments\/(\d+)\/(\d+)\//.exec(url.pathname);
  if (a) {
    for (const m of state.messages.values()) {
      const att = m.attachments.find((x) => x.id === a[2]);
      if (att) {
        res.writeHead(200, { 'content-type': att.content_type, 'content-length': att.data.length });
        res.end(att.data);
        return;
      }
    }
    res.writeHead(404);
    res.end();
    return;
  }
  if (url.pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(renderHtml(state));
    return;
  }
  res.writeHead(404);
  res.end();
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The default channel's last 30 messages, newest first, refreshing every 3 s. */
function renderHtml(state: FakeState): string {
  const items = state.channelMessages().slice(-30).reverse().map(messageHtml).join('\n');
  return (
    `<!doctype html><meta http-equiv="refresh" content="3"><title>fake discord</title>` +
    `<body style="font-family:sans-serif">${items || 'no messages yet'}</body>`
  );
}

/** One message: author, id, content, images, buttons (label and custom_id) and reaction counts. */
function messageHtml(m: FakeMessage): string {
  const imgs = m.attachments
    .filter((a) => a.content_type.startsWith('image/'))
    .map((a) => `<img src="${a.url}" style="max-width:512px;display:block">`)
    .join('');
  const buttons = (m.components as any[])
    .flatMap((row) => row.components ?? [])
    .map((c: any) => `<code>[${esc(String(c.label ?? c.custom_id))}] ${esc(String(c.custom_id ?? ''))}</code>`)
    .join(' ');
  const reactions = [...m.reactions.entries()].map(([e, u]) => `${esc(e)} ${u.size}`).join(' ');
  const flag = m.flags & FLAG_EPHEMERAL ? ' (ephemeral)' : '';
  return (
    `<div style="border-bottom:1px solid #ccc;padding:8px"><b>${esc(m.author.username)}</b> <small>${m.id}${flag}</small>` +
    `<pre>${esc(m.content)}</pre>${imgs}<div>${buttons}</div><div>${reactions}</div></div>`
  );
}
