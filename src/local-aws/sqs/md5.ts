/** SQS's message-attribute MD5: the SDK recomputes it and rejects responses that disagree. */
import { createHash } from 'node:crypto';

export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string; // base64 on the JSON wire
}

export function md5OfMessageAttributes(attrs: Record<string, MessageAttributeValue>): string {
  const h = createHash('md5');
  const len = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  for (const name of Object.keys(attrs).sort()) {
    const a = attrs[name];
    const nameBuf = Buffer.from(name, 'utf8');
    const typeBuf = Buffer.from(a.DataType, 'utf8');
    h.update(len(nameBuf.length)).update(nameBuf).update(len(typeBuf.length)).update(typeBuf);
    if (a.StringValue !== undefined) {
      const v = Buffer.from(a.StringValue, 'utf8');
      h.update(Buffer.from([1]))
        .update(len(v.length))
        .update(v);
    } else if (a.BinaryValue !== undefined) {
      const v = Buffer.from(a.BinaryValue, 'base64');
      h.update(Buffer.from([2]))
        .update(len(v.length))
        .update(v);
    }
  }
  return h.digest('hex');
}
