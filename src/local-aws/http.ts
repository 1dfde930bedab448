/** HTTP plumbing shared by the protocol handlers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AwsError } from './errors.ts';

export const MAX_JSON_BODY = 16 * 1024 * 1024;

/** Buffers a request body; bounded because AWS JSON APIs cap request sizes anyway. */
export function readBody(req: IncomingMessage, limit = MAX_JSON_BODY): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new AwsError('RequestEntityTooLarge', `Request body exceeds ${limit} bytes`, { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function send(res: ServerResponse, status: number, headers: Record<string, string | number>, body?: string | Buffer): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const buf = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { ...headers, 'Content-Length': buf ? buf.length : 0 });
  res.end(buf);
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
