/**
 * Reads what nats-server tells a cluster-side client, to count the permission violations the broker
 * reports (`-ERR 'Permissions Violation for Publish to "…"'`, `… for Subscription to "…"`): nats-server
 * logs them and publishes no event for them, and every cluster-side connection passes this gateway,
 * so this is where an operator can see a cluster reaching for subjects that are not its own.
 *
 * It follows the server's framing (control lines; `MSG`/`HMSG` payloads skipped by their announced
 * size), so a payload that happens to contain "-ERR" is never counted. Pure; one per connection.
 */

export type ViolationOperation = 'publish' | 'subscribe';

/** A control line longer than this (INFO is a few KiB) means the stream is not NATS: stop reading. */
const MAX_LINE = 64 * 1024;

const VIOLATION = /^-ERR\s+'Permissions Violation for (Publish|Subscription) to "([^"]{0,512})"/i;

export interface Violation {
  readonly operation: ViolationOperation;
  readonly subject: string;
}

export class BrokerErrorScanner {
  private line: Buffer = Buffer.alloc(0);
  /** Payload bytes (and their CRLF) still to skip. */
  private skip = 0;
  private lost = false;

  /** Violations completed by this chunk of server → client bytes. */
  feed(chunk: Buffer): Violation[] {
    if (this.lost) return [];
    const found: Violation[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        this.skip -= n;
        at += n;
        continue;
      }
      const end = chunk.indexOf(10, at); // '\n'
      if (end < 0) {
        this.line = Buffer.concat([this.line, chunk.subarray(at)]);
        if (this.line.length > MAX_LINE) this.lose();
        return found;
      }
      const line =
        this.line.length > 0 ? Buffer.concat([this.line, chunk.subarray(at, end)]) : chunk.subarray(at, end);
      this.line = Buffer.alloc(0);
      at = end + 1;
      if (line.length > MAX_LINE) {
        this.lose();
        return found;
      }
      const v = this.control(line.toString('latin1').replace(/\r$/, ''));
      if (v) found.push(v);
    }
    return found;
  }

  /** True once the stream could not be followed (nothing more is counted on this connection). */
  get desynchronised(): boolean {
    return this.lost;
  }

  private control(line: string): Violation | undefined {
    const op = line.slice(0, 5).toUpperCase();
    if (op.startsWith('MSG ') || op === 'HMSG ') {
      // MSG <subject> <sid> [reply] <#bytes>; HMSG <subject> <sid> [reply] <#header bytes> <#total bytes>
      const size = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (!Number.isInteger(size) || size < 0) this.lose();
      else this.skip = size + 2;
      return undefined;
    }
    if (!op.startsWith('-ERR')) return undefined;
    const m = VIOLATION.exec(line);
    if (!m) return undefined;
    return {
      operation: (m[1] as string).toLowerCase() === 'publish' ? 'publish' : 'subscribe',
      subject: m[2] as string,
    };
  }

  private lose(): void {
    this.lost = true;
    this.line = Buffer.alloc(0);
  }
}
