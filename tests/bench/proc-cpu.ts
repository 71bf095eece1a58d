// CPU accounting of other processes from /proc, for the benchmarks: a process with all its threads, one
// thread, and a process tree (PostgreSQL's postmaster and the backends it forks). Linux only; clock
// ticks are 10 ms (USER_HZ = 100).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10;

interface Stat {
  ppid: number;
  /** utime + stime of the process (all its threads), ms */
  selfMs: number;
  /** cutime + cstime: its children that exited and were waited for, ms */
  reapedChildrenMs: number;
}

function stat(path: string): Stat | undefined {
  try {
    // The command name may hold spaces and parentheses: fields start after the last ") ".
    const text = readFileSync(path, 'utf8');
    const f = text.slice(text.lastIndexOf(') ') + 2).split(' ');
    // After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
    return {
      ppid: Number(f[1]),
      selfMs: (Number(f[11]) + Number(f[12])) * TICK_MS,
      reapedChildrenMs: (Number(f[13]) + Number(f[14])) * TICK_MS,
    };
  } catch {
    return undefined;
  }
}

/** CPU ms (user + system) a process has used so far, every thread included; with `thread`, that thread alone. */
export function processCpuMs(pid: number | undefined, thread?: number): number {
  if (!pid) return 0;
  return stat(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`)?.selfMs ?? 0;
}

/** The pids whose parent is `pid` (a scan of /proc: works for children of any user when we are root). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    if (stat(`/proc/${name}/stat`)?.ppid === pid) out.push(Number(name));
  }
  return out;
}

/**
 * CPU ms used so far by a process tree one level deep, the shape of a PostgreSQL cluster: the
 * postmaster forks every backend and auxiliary process and reaps them itself.
 *
 * = the root's own time + the time of its children that already exited (cutime/cstime, which the
 *   kernel adds to the parent when it reaps them) + each live child's own time and reaped children.
 * A backend that exits during a measurement moves from the third term to the second, so the sum
 * never loses its time (up to the moment between exit and reaping, while it is a zombie — its times
 * are still in /proc then).
 */
export function processTreeCpuMs(root: number | undefined): { ms: number; processes: number } {
  if (!root) return { ms: 0, processes: 0 };
  const r = stat(`/proc/${root}/stat`);
  if (!r) return { ms: 0, processes: 0 };
  let ms = r.selfMs + r.reapedChildrenMs;
  const kids = childrenOf(root);
  for (const k of kids) {
    const s = stat(`/proc/${k}/stat`);
    if (s) ms += s.selfMs + s.reapedChildrenMs;
  }
  return { ms, processes: 1 + kids.length };
}

/** The cores a process may run on, as the kernel reports them (`Cpus_allowed_list`, e.g. "0" or "0-1"). */
export function allowedCpus(pid: number | undefined): string | undefined {
  if (!pid) return undefined;
  try {
    return /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Pins a running process (every thread: `taskset -a`) and its current children to `cpus`. Processes
 * it forks afterwards inherit the affinity from it. Throws when taskset fails.
 */
export function pinTree(pid: number, cpus: string): void {
  for (const p of [pid, ...childrenOf(pid)]) {
    const r = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(p)], { encoding: 'utf8' });
    // A child may exit between the scan and taskset: only the root must succeed.
    if (r.status !== 0 && p === pid) throw new Error(`taskset -a -p -c ${cpus} ${p} failed: ${r.stderr || r.error}`);
  }
}

/** VmRSS of a process in MB (0 when it is gone). */
export function rssMb(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/**
 * Busy, stolen and total jiffies of the whole machine (all cores) from /proc/stat. Steal is time the
 * hypervisor ran something else while this VM wanted a core: counted as busy, and a sign that a
 * run's slowness came from the host.
 */
export function machineJiffies(): { busy: number; steal: number; total: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), steal: f[7] ?? 0, total };
  } catch {
    return { busy: 0, steal: 0, total: 0 };
  }
}

/**
 * The kernel's count of connections dropped because a listening socket's accept queue was full
 * (TcpExt ListenOverflows in /proc/net/netstat; machine-wide). A client whose handshake was dropped waits
 * out SYN retransmits (1, 3, 7, 15 s …), a wait the server never sees.
 */
export function listenOverflows(): number | null {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    const i = lines.findIndex((l) => l.startsWith('TcpExt:'));
    const names = lines[i]!.split(/\s+/);
    const values = lines[i + 1]!.split(/\s+/);
    const k = names.indexOf('ListenOverflows');
    return k > 0 ? Number(values[k]) : null;
  } catch {
    return null;
  }
}

/** BENCH_SERVER_ENV="K=V,K=V": server settings a benchmark adds to (or overrides in) its server's environment. */
export function benchServerEnv(): Record<string, string> {
  return Object.fromEntries(
    (process.env.BENCH_SERVER_ENV ?? '')
      .split(',')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}
