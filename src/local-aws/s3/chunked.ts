/**
 * Decoder for `Content-Encoding: aws-chunked` bodies. The v3 SDK sends
 * streaming PutObject/UploadPart bodies this way with
 * `x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER` and a checksum
 * trailer (`x-amz-checksum-crc32:...`) after the last chunk; signed variants
 * add `;chunk-signature=...` to each chunk header. Signatures are not checked
 * (local AWS accepts any credentials); trailers are collected so the caller
 * can verify the checksum.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { AwsError } from '../errors.ts';

type State = 'size' | 'data' | 'dataCrlf' | 'trailer' | 'done';

export class AwsChunkedDecoder extends Transform {
  readonly trailers: Record<string, string> = {};
  private state: State = 'size';
  private line = '';
  private remaining = 0;
  private crlfSeen = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.consume(chunk);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    if (this.state !== 'done' && !(this.state === 'trailer' && this.line === '')) {
      cb(new AwsError('IncompleteBody', 'The request body terminated unexpectedly (aws-chunked)'));
      return;
    }
    cb();
  }

  private consume(buf: Buffer): void {
    let i = 0;
    while (i < buf.length) {
      switch (this.state) {
        case 'size':
        case 'trailer': {
          const nl = buf.indexOf(0x0a, i);
          if (nl === -1) {
            this.line += buf.toString('latin1', i);
            if (this.line.length > 8192) throw new AwsError('InvalidChunkSizeError', 'Chunk header too long');
            return;
          }
          this.line += buf.toString('latin1', i, nl);
          i = nl + 1;
          const line = this.line.replace(/\r$/, '');
          this.line = '';
          if (this.state === 'size') {
            const hex = line.split(';')[0].trim();
            if (!/^[0-9a-fA-F]+$/.test(hex)) throw new AwsError('InvalidChunkSizeError', `Invalid chunk size "${hex}"`);
            this.remaining = parseInt(hex, 16);
            this.state = this.remaining === 0 ? 'trailer' : 'data';
          } else if (line === '') {
            this.state = 'done';
          } else {
            const c = line.indexOf(':');
            if (c > 0) this.trailers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
          }
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, buf.length - i);
          this.push(buf.subarray(i, i + n));
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.state = 'dataCrlf';
            this.crlfSeen = 0;
          }
          break;
        }
        case 'dataCrlf': {
          const c = buf[i++];
          if (c === 0x0a) this.state = 'size';
          else if (c !== 0x0d || ++this.crlfSeen > 1) throw new AwsError('IncompleteBody', 'Malformed aws-chunked body');
          break;
        }
        case 'done':
          return; // ignore anything after the final CRLF
      }
    }
  }
}
