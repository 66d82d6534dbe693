/**
 * The fake's HTTP side: decodes each request, records it (with the status it got), checks the
 * bot token, and hands it to the REST routes in turn; anything outside /api goes to the viewer.
 * The routes are the ones discord.js 14 uses for a slash-command bot.
 */
import type http from 'node:http';
import type { RecordedRequest } from './models.ts';
import { parseBody, readBody, type RestCall, type RestContext, type Routes } from './rest-call.ts';
import { applicationRoutes, commandRoutes } from './routes-application.ts';
import { channelRoutes } from './routes-channels.ts';
import { interactionRoutes, webhookRoutes } from './routes-interactions.ts';
import { serveExtras } from './viewer.ts';

/** Tried in this order; the first that answers wins. */
const ROUTES: Routes[] = [applicationRoutes, commandRoutes, interactionRoutes, webhookRoutes, channelRoutes];

export class FakeRest {
  constructor(
    private readonly ctx: RestContext,
    private readonly log: (line: string) => void,
  ) {}

  /** Answers one HTTP request (errors are the caller's to turn into a 500). */
  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { state } = this.ctx;
    const url = new URL(req.url ?? '/', state.baseUrl);
    const raw = await readBody(req);

    // Non-API conveniences: attachment bytes and a tiny HTML viewer for demos.
    if (!url.pathname.startsWith('/api/')) return serveExtras(state, url, res);

    const route = decodeURIComponent(url.pathname.replace(/^\/api(\/v\d+)?/, ''));
    const { body, files } = await parseBody(req, raw);
    const rec: RecordedRequest = {
      seq: this.ctx.records.requests.length,
      method: req.method ?? 'GET',
      route,
      rawPath: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body,
      files,
      status: 0,
      at: Date.now(),
    };
    const call = this.call(rec, res);

    // Interaction and webhook routes carry no Authorization header; everything else must.
    const unauthenticated = /^\/(interactions|webhooks)\//.test(route);
    if (!unauthenticated) {
      if (req.headers.authorization !== `Bot ${state.token}`) {
        call.send(401, { message: '401: Unauthorized', code: 0 });
        return;
      }
    }
    for (const routes of ROUTES) if (routes(call, this.ctx)) return;
    call.notFound();
  }

  /** The call the routes see; answering it records the request and wakes its waits. */
  private call(rec: RecordedRequest, res: http.ServerResponse): RestCall {
    const send = (status: number, json?: unknown, headers: Record<string, string> = {}): true => {
      rec.status = status;
      if (json === undefined) {
        res.writeHead(status, headers);
        res.end();
      } else {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(json));
      }
      this.log(`${rec.method} ${rec.route} -> ${status}`);
      this.ctx.records.recordRequest(rec);
      return true;
    };
    return {
      method: rec.method,
      route: rec.route,
      query: rec.query,
      body: rec.body,
      files: rec.files,
      send,
      notFound: (code = 0, message = '404: Not Found') => send(404, { message, code }),
    };
  }
}
