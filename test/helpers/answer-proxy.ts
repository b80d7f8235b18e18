// A small HTTP proxy in front of an emulator that rewrites chosen answers: a Descope (or something
// posing as it) that answers with the wrong shape. Point an environment's baseUrl at `url`, then
// `rewrite('GET /v1/mgmt/tenant/all', () => ({ tenants: [null] }))`. Everything else is passed
// through unchanged, so the emulator's request log still says what reached it.
import { createServer, type IncomingMessage, type Server } from 'node:http';

/** Gets the upstream answer's parsed JSON body; returns the body to send instead. */
export type Rewrite = (body: unknown) => unknown;

export interface AnswerProxy {
  url: string;
  /** Rewrites the 2xx answers of `METHOD /path` (path without the query) from now on. */
  rewrite(route: string, change: Rewrite): void;
  /** Drops every rewrite. */
  clear(): void;
  /** Answers rewritten so far. */
  readonly rewritten: number;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startAnswerProxy(target: string): Promise<AnswerProxy> {
  const rewrites = new Map<string, Rewrite>();
  let rewritten = 0;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', target);
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string' && !['host', 'connection', 'content-length'].includes(name)) headers.set(name, value);
      }
      const method = req.method ?? 'GET';
      const upstream = await fetch(url, { method, headers, ...(body.length > 0 ? { body } : {}) });
      let text = await upstream.text();
      const change = rewrites.get(`${method} ${url.pathname}`);
      if (change && upstream.ok) {
        rewritten += 1;
        text = JSON.stringify(change(JSON.parse(text) as unknown));
      }
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text);
    })().catch((error: unknown) => {
      res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ errorCode: 'PROXY', errorDescription: String(error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    rewrite: (route, change) => void rewrites.set(route, change),
    clear: () => rewrites.clear(),
    get rewritten() {
      return rewritten;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
