// One connection per container to conmon's attach socket (a SOCK_SEQPACKET unix socket, which
// Node's `net` cannot open; node-unix-socket can), fanned out to every attached client.
// Each packet from conmon starts with one byte naming the pipe: 2 = stdout, 3 = stderr.
// Writes to it become the container's stdin; conmon reads at most 32 KiB per packet, so larger
// writes are cut into packets. Shutting our write side closes the container's stdin unless
// conmon runs with --leave-stdin-open.
import { createRequire } from 'node:module';
import { EventEmitter } from 'node:events';

export type StreamKind = 1 | 2; // 1 = stdout, 2 = stderr (Docker's stdcopy numbering)

interface SeqSocket extends EventEmitter {
  connect(path: string, cb?: () => void): void;
  write(buf: Buffer, offset?: number, length?: number, cb?: () => void): void;
  end(cb?: () => void): void;
  destroy(): void;
  setInternalReadBufferSize(n: number): void;
}

let SeqpacketSocket: (new () => SeqSocket) | undefined;
function seqpacket(): new () => SeqSocket {
  // Loaded lazily: the native addon costs start-up time and only the daemon needs it. Its loader
  // asks process.report for the libc, and a report resolves every open socket's address by
  // reverse DNS, synchronously, on the main thread: with the host's resolvers out of reach (a
  // node in its own namespace, an offline machine) and the daemon's many sockets (one DNS
  // listener per network), that froze berthd for minutes. The report's network part is not needed.
  if (!SeqpacketSocket && process.report) (process.report as { excludeNetwork?: boolean }).excludeNetwork = true;
  if (!SeqpacketSocket) SeqpacketSocket = (createRequire(import.meta.url)('node-unix-socket') as { SeqpacketSocket: new () => SeqSocket }).SeqpacketSocket;
  return SeqpacketSocket;
}

const MAX_STDIN_PACKET = 32 * 1024;

export class AttachConnection extends EventEmitter {
  #sock: SeqSocket;
  #ended = false;
  #stdinClosed = false;

  private constructor(sock: SeqSocket) {
    super();
    this.#sock = sock;
  }

  static connect(path: string): Promise<AttachConnection> {
    return new Promise((resolve, reject) => {
      const Ctor = seqpacket();
      const sock = new Ctor();
      sock.setInternalReadBufferSize(64 * 1024);
      const conn = new AttachConnection(sock);
      let connected = false;
      sock.on('error', (e: Error) => {
        if (!connected) reject(e);
        else conn.#finish();
      });
      sock.on('data', (buf: Buffer) => {
        if (buf.length < 1) return;
        const kind = buf[0] === 3 ? 2 : 1;
        conn.emit('output', kind as StreamKind, buf.subarray(1));
      });
      sock.on('end', () => conn.#finish());
      sock.on('close', () => conn.#finish());
      sock.connect(path, () => { connected = true; resolve(conn); });
    });
  }

  #finish(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.emit('end');
    try { this.#sock.destroy(); } catch { /* already gone */ }
  }

  get ended(): boolean { return this.#ended; }

  writeStdin(data: Buffer): void {
    if (this.#ended || this.#stdinClosed) return;
    for (let off = 0; off < data.length; off += MAX_STDIN_PACKET) {
      const part = data.subarray(off, Math.min(off + MAX_STDIN_PACKET, data.length));
      try { this.#sock.write(part); } catch { this.#finish(); return; }
    }
  }

  closeStdin(): void {
    if (this.#ended || this.#stdinClosed) return;
    this.#stdinClosed = true;
    try { this.#sock.end(); } catch { /* gone */ }
  }

  close(): void { this.#finish(); }
}
