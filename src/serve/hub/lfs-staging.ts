import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { invalid, notFound, tooLarge } from '../../errors.js';
import { receiveUpload } from '../http/upload.js';
import type { ReceivedUpload } from '../http/upload.js';

/**
 * LFS objects between the Hub client's upload (the basic transfer: one PUT
 * per object, to the href the batch answer gave) and the commit that names
 * them. The PUT carries no token (the client sends none to an upload href),
 * so the href holds a ticket: 128 random bits, issued by the batch call,
 * which needs the token, for one object of one size, for an hour. Objects
 * wait on disk (the uploads' temporary directories) until a commit takes them
 * or they expire; the bytes waiting are bounded.
 */
const TTL_MS = 60 * 60 * 1000;

interface Ticket {
  oid: string;
  size: number;
  expires: number;
}

interface Staged {
  upload: ReceivedUpload;
  expires: number;
}

export class LfsStaging {
  private readonly tickets = new Map<string, Ticket>();
  private readonly objects = new Map<string, Staged>();
  private bytes = 0;

  /** `maxBytes`: most bytes waiting for a commit at once (the server's --max-upload). */
  constructor(private readonly maxBytes: number, private readonly now: () => number = Date.now) {}

  /** The key of an object: its SHA-256 (lowercase hex) and size. */
  private static key(oid: string, size: number): string {
    return `${oid}:${size}`;
  }

  has(oid: string, size: number): boolean {
    this.sweep();
    return this.objects.has(LfsStaging.key(oid, size));
  }

  /** A ticket for one PUT of the object. */
  ticket(oid: string, size: number): string {
    this.sweep();
    if (size > this.maxBytes) throw tooLarge(`LFS object ${oid} of ${size} bytes is over the upload limit of ${this.maxBytes} bytes (--max-upload)`);
    const id = randomBytes(16).toString('hex');
    this.tickets.set(id, { oid, size, expires: this.now() + TTL_MS });
    return id;
  }

  /** Receives the body of a PUT to a ticket's href: kept when its size and SHA-256 are the ticket's, refused (400) otherwise. */
  async receive(ticketId: string, req: IncomingMessage): Promise<void> {
    this.sweep();
    const t = this.tickets.get(ticketId);
    if (!t) throw notFound('no such upload ticket (expired, used, or never issued): ask the LFS batch endpoint again');
    if (this.bytes + t.size > this.maxBytes) throw tooLarge(`the LFS objects waiting for a commit would pass ${this.maxBytes} bytes (--max-upload): commit first`);
    this.tickets.delete(ticketId);
    const upload = await receiveUpload(req, 'object', t.size);
    if (upload.size !== t.size || upload.sha256.toString('hex') !== t.oid) {
      upload.cleanup();
      throw invalid(`the uploaded object is ${upload.size} bytes with SHA-256 ${upload.sha256.toString('hex')}; the batch request announced ${t.size} bytes, ${t.oid}`);
    }
    const key = LfsStaging.key(t.oid, t.size);
    const old = this.objects.get(key);
    if (old) this.drop(key, old);
    this.objects.set(key, { upload, expires: this.now() + TTL_MS });
    this.bytes += t.size;
  }

  /** The file holding an object, or undefined. */
  path(oid: string, size: number): string | undefined {
    this.sweep();
    const s = this.objects.get(LfsStaging.key(oid, size));
    return s && `${s.upload.root}/${s.upload.relPath}`;
  }

  /** Forgets an object a commit has stored. */
  release(oid: string, size: number): void {
    const key = LfsStaging.key(oid, size);
    const s = this.objects.get(key);
    if (s) this.drop(key, s);
  }

  get waitingBytes(): number {
    return this.bytes;
  }

  private drop(key: string, s: Staged): void {
    s.upload.cleanup();
    this.objects.delete(key);
    this.bytes -= s.upload.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, t] of this.tickets) if (t.expires <= now) this.tickets.delete(id);
    for (const [key, s] of this.objects) if (s.expires <= now) this.drop(key, s);
  }

  close(): void {
    for (const [key, s] of this.objects) this.drop(key, s);
    this.tickets.clear();
  }
}
