import type { CoreDeps } from '../../context';

/**
 * The upgrade gate in front of every session socket. Two kinds of limits. Before authentication only
 * failures are counted, per client IP: anonymous or badly authenticated upgrades. Once that bucket is
 * full, upgrades without any credential are refused without further work, but an upgrade carrying a
 * token is still checked — so a flood of anonymous attempts from a shared address (a NAT, an office, a
 * proxy) cannot lock out the admin or the agents behind it. After authentication, the upgrade rate and
 * the open-socket cap count per principal (a user or a fog), not per address.
 *
 * The counters are this instance's own: each instance limits what reaches it.
 */
export class UpgradeGate {
  /** Open session sockets per principal. */
  #open = new Map<string, number>();
  /** Authenticated upgrades per principal, per minute. */
  #windows = new Map<string, Window>();
  /** Failed (unauthenticated) upgrades per client IP, per minute. */
  #failed = new Map<string, Window>();

  constructor(
    private readonly ctx: CoreDeps,
    private readonly draining: () => boolean,
  ) {}

  get config() {
    return this.ctx.config.ws;
  }

  /** Refusal for an upgrade from `ip` before authentication, or undefined. Counts nothing. */
  admit(ip: string | undefined, hasCredentials: boolean): { code: 'SERVER_DRAINING' | 'RATE_LIMITED'; message: string } | undefined {
    if (this.draining()) return { code: 'SERVER_DRAINING', message: 'Server draining' };
    if (hasCredentials) return undefined;
    const w = this.#failed.get(ip ?? 'unknown');
    if (w && this.ctx.clock.now() - w.started < 60_000 && w.n >= this.config.maxFailedPerMinute) {
      return { code: 'RATE_LIMITED', message: 'Too many failed upgrade attempts from this address' };
    }
    return undefined;
  }

  /** An upgrade from `ip` failed authentication (or named no route): counted in the IP's pre-auth bucket. */
  upgradeFailed(ip: string | undefined): void {
    bump(this.#failed, ip ?? 'unknown', this.ctx.clock.now());
  }

  /**
   * Refusal for an authenticated upgrade by `principal` (`user:<id>` / `fog:<uuid>`), or undefined.
   * Counts the upgrade in the principal's per-minute window; a refusal is not counted.
   */
  admitPrincipal(principal: string): { code: 'RATE_LIMITED'; message: string } | undefined {
    if ((this.#open.get(principal) ?? 0) >= this.config.maxConnectionsPerIp)
      return { code: 'RATE_LIMITED', message: 'Too many connections' };
    const now = this.ctx.clock.now();
    const w = this.#windows.get(principal);
    if (w && now - w.started < 60_000 && w.n >= this.config.maxRequestsPerMinute)
      return { code: 'RATE_LIMITED', message: 'Rate limit exceeded' };
    bump(this.#windows, principal, now);
    return undefined;
  }

  socketOpened(principal: string): void {
    this.#open.set(principal, (this.#open.get(principal) ?? 0) + 1);
  }

  socketClosed(principal: string): void {
    const n = (this.#open.get(principal) ?? 1) - 1;
    if (n <= 0) this.#open.delete(principal);
    else this.#open.set(principal, n);
  }
}

interface Window {
  started: number;
  n: number;
}

/** Counts one event in `key`'s fixed one-minute window; expired windows are dropped when the map grows large. */
function bump(windows: Map<string, Window>, key: string, now: number): void {
  let w = windows.get(key);
  if (!w || now - w.started >= 60_000) {
    w = { started: now, n: 0 };
    windows.set(key, w);
  }
  w.n += 1;
  if (windows.size > 10_000) for (const [k, v] of windows) if (now - v.started >= 60_000) windows.delete(k);
}
