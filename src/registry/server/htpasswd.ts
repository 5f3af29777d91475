// htpasswd files with bcrypt entries (what `htpasswd -B` writes, and all distribution accepts):
//
//   # comment
//   alice:$2y$05$…
//
// bcrypt is deliberately slow (tens of milliseconds in pure JS), and a docker push sends
// credentials with every request, so successful checks are remembered for a while, keyed by a
// hash of user and password (the password itself is never kept). An unknown user costs the same
// bcrypt as a wrong password, so response times do not tell which user names exist.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import bcrypt from 'bcryptjs';

const BCRYPT_RE = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

export interface Htpasswd {
  users: Map<string, string>;
  /** Lines that are not `user:<bcrypt hash>` (1-based line numbers), for a warning at start. */
  skipped: number[];
}

export function parseHtpasswd(text: string): Htpasswd {
  const users = new Map<string, string>();
  const skipped: number[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (colon <= 0 || !BCRYPT_RE.test(hash)) {
      skipped.push(i + 1);
      return;
    }
    users.set(user, hash);
  });
  return { users, skipped };
}

const CACHE_TTL_MS = 5 * 60_000;
const CACHE_MAX = 1000;

export class HtpasswdVerifier {
  readonly #users: Map<string, string>;
  readonly #ok = new Map<string, number>();
  /** Checks under way, by the same key: a burst of requests with the same credentials runs one bcrypt. */
  readonly #running = new Map<string, Promise<boolean>>();
  /**
   * What an unknown user's password is checked against: a salt of the file's usual cost and no
   * possible match. Answering "no such user" at once would tell, by timing alone, which names
   * exist; this way an unknown name costs one bcrypt like a known name with a wrong password.
   */
  readonly #dummy: string;

  constructor(file: Htpasswd) {
    this.#users = file.users;
    this.#dummy = bcrypt.genSaltSync(usualCost(file.users)) + '.'.repeat(31);
  }

  static async load(path: string): Promise<{ verifier: HtpasswdVerifier; skipped: number[] }> {
    const parsed = parseHtpasswd(await readFile(path, 'utf8'));
    return { verifier: new HtpasswdVerifier(parsed), skipped: parsed.skipped };
  }

  get size(): number { return this.#users.size; }

  #key(user: string, password: string, hash: string): string {
    return createHash('sha256').update(user).update('\0').update(password).update('\0').update(hash).digest('hex');
  }

  /**
   * Checks a password. `charge` is called for each new attempt (not for credentials verified a
   * moment ago, nor for the same credentials already being checked, whose answer is shared);
   * what it returns is called when the password was right. The login throttle counts attempts
   * this way, before the answer, so that concurrent guesses count at once.
   */
  async verify(user: string, password: string, charge?: () => () => void): Promise<boolean> {
    const known = this.#users.get(user);
    // Known or not, the same steps: the cache key, the cache, one bcrypt compare.
    const hash = known ?? this.#dummy;
    const key = this.#key(user, password, hash);
    const until = this.#ok.get(key);
    if (until !== undefined && until > Date.now()) return true;
    const running = this.#running.get(key);
    if (running) return running;
    const refund = charge?.();
    const check = bcrypt.compare(password, hash).then((ok) => {
      if (!ok || known === undefined) return false;
      if (this.#ok.size >= CACHE_MAX) this.#ok.clear();
      this.#ok.set(key, Date.now() + CACHE_TTL_MS);
      return true;
    }).finally(() => this.#running.delete(key));
    this.#running.set(key, check);
    const ok = await check;
    if (ok) refund?.();
    return ok;
  }
}

/** The cost most of the file's entries use (the higher on a tie); htpasswd -B's 5 for an empty file. */
function usualCost(users: Map<string, string>): number {
  const counts = new Map<number, number>();
  for (const h of users.values()) {
    const c = bcrypt.getRounds(h);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let best = 5;
  let most = 0;
  for (const [c, n] of counts) if (n > most || (n === most && c > best)) [best, most] = [c, n];
  return best;
}

/** `Authorization: Basic base64(user:password)`; undefined when absent or malformed. */
export function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}
