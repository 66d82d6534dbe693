/**
 * One REST request as the route handlers see it (method, route, query, decoded body and
 * uploads, and how to answer), what they may touch, and how a request body is decoded
 * (JSON, or multipart with `payload_json` and files, as discord.js sends uploads).
 */
import type http from 'node:http';
import type { MemberReactions } from './member-reactions.ts';
import type { RecordedFile } from './models.ts';
import type { Recorder } from './recorder.ts';
import type { FakeState } from './state.ts';

export interface RestCall {
  method: string;
  /** Decoded path without the /api/v10 prefix. */
  route: string;
  query: Record<string, string>;
  /** JSON body, or the multipart `payload_json`. */
  body?: any;
  files: RecordedFile[];
  /** Answers with `status` and `json` (none: an empty body); true, so a route can `return call.send(…)`. */
  send(status: number, json?: unknown, headers?: Record<string, string>): true;
  /** Answers 404 with a Discord error code and message. */
  notFound(code?: number, message?: string): true;
}

/** What a route may read and change. */
export interface RestContext {
  state: FakeState;
  records: Recorder;
  reactions: MemberReactions;
}

/** A group of routes: answers the call and returns true, or returns false when none of its routes match. */
export type Routes = (call: RestCall, ctx: RestContext) => boolean;

/** The whole body of a request. */
export async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A body decoded by its content type: JSON, multipart (payload_json + files), or else text. */
export async function parseBody(
  req: http.IncomingMessage,
  raw: Buffer,
): Promise<{ body?: any; files: RecordedFile[] }> {
  const type = req.headers['content-type'] ?? '';
  if (!raw.length) return { files: [] };
  if (type.startsWith('application/json')) return { body: JSON.parse(raw.toString('utf8')), files: [] };
  if (type.startsWith('multipart/form-data')) return parseMultipart(type, raw);
  return { body: raw.toString('utf8'), files: [] };
}

async function parseMultipart(type: string, raw: Buffer): Promise<{ body?: any; files: RecordedFile[] }> {
  const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
  const files: RecordedFile[] = [];
  let body: any;
  for (const [field, value] of form.entries()) {
    if (field === 'payload_json') body = JSON.parse(String(value));
    else if (typeof value !== 'string') {
      files.push({
        field,
        filename: value.name,
        contentType: value.type || 'application/octet-stream',
        data: Buffer.from(await value.arrayBuffer()),
      });
    }
  }
  return { body, files };
}
