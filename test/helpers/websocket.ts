// WebSocket frames (RFC 6455) written and read by hand, so tests can send frames no library would
// and see what a client sends through a proxy: the inspector negotiates no extensions, so a text
// message is its frames' payloads, unmasked and joined.

/** A server-to-client frame: FIN, opcode (1 text, 2 binary), unmasked; `claimed` overrides the length in the header. */
export function frame(payload: Buffer | string, opts: { opcode?: number; claimed?: number } = {}): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const len = opts.claimed ?? body.length;
  let head: Buffer;
  if (len < 126) head = Buffer.from([0x80 | (opts.opcode ?? 1), len]);
  else if (len < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | (opts.opcode ?? 1);
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | (opts.opcode ?? 1);
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, body]);
}

export interface Frame {
  fin: boolean;
  opcode: number;
  /** Unmasked. */
  payload: Buffer;
}

/** Reads frames (masked or not) from a byte stream given in chunks as they arrive. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  /** The frames completed by this chunk. */
  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames: Frame[] = [];
    for (;;) {
      const buf = this.buf;
      if (buf.length < 2) break;
      let len = buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) break;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) break;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      const masked = (buf[1]! & 0x80) !== 0;
      const mask = masked ? buf.subarray(off, off + 4) : undefined;
      if (masked) off += 4;
      if (buf.length < off + len) break;
      const payload = Buffer.from(buf.subarray(off, off + len));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
      frames.push({ fin: (buf[0]! & 0x80) !== 0, opcode: buf[0]! & 0x0f, payload });
      this.buf = buf.subarray(off + len);
    }
    return frames;
  }
}

/** Text messages from a byte stream of frames, fragments joined; other frames are left out. */
export class MessageReader {
  private readonly frames = new FrameReader();
  private partial: Buffer[] = [];

  push(chunk: Buffer): string[] {
    const messages: string[] = [];
    for (const f of this.frames.push(chunk)) {
      if (f.opcode !== 1 && f.opcode !== 0) continue;
      this.partial.push(f.payload);
      if (f.fin) {
        messages.push(Buffer.concat(this.partial).toString('utf8'));
        this.partial = [];
      }
    }
    return messages;
  }
}

/**
 * What clients send on one connection: HTTP request heads, then, after an upgrade to websocket,
 * its text messages. Feed it every chunk the client sends.
 */
export function clientRecorder(heads: string[], messages: string[]): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  let ws: MessageReader | undefined;
  return (chunk) => {
    if (ws) return void messages.push(...ws.push(chunk));
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      heads.push(head);
      buf = buf.subarray(end + 4);
      if (/^upgrade:\s*websocket/im.test(head)) {
        ws = new MessageReader();
        messages.push(...ws.push(buf));
        return;
      }
    }
  };
}
