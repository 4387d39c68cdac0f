import type { ChildProcess } from 'node:child_process';
import net from 'node:net';

/**
 * What the lab's and the tests' throwaway servers (Prosody, PostgreSQL, HAProxy) share: a free port on loopback,
 * waiting for a port to open, and stopping a server with everything it started (each runs in a process group of
 * its own: `spawn(…, { detached: true })`).
 */

/** A TCP port on loopback that nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Whether something accepts connections on this loopback port now. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** Waits until the port opens; fails after `ms`, or at once when `gaveUp()` says the server is gone. */
export async function waitForPort(port: number, ms: number, what: string, gaveUp: () => string | null = () => null): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const gone = gaveUp();
    if (gone) throw new Error(gone);
    if (await portOpen(port)) return;
    if (Date.now() > end) throw new Error(`${what} did not open port ${port} in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

/** Sends a signal to the child's whole process group (nothing happens if it is gone already). */
export function signalGroup(child: ChildProcess | null, sig: NodeJS.Signals): void {
  if (!child?.pid) return;
  try {
    process.kill(-child.pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Stops the child's group with `first` (SIGKILL after `killAfterMs` if it lingers) and waits until the child is gone. */
export async function stopGroup(child: ChildProcess | null, first: NodeJS.Signals = 'SIGKILL', killAfterMs = 5000): Promise<void> {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  signalGroup(child, first);
  const timer = first === 'SIGKILL' ? undefined : setTimeout(() => signalGroup(child, 'SIGKILL'), killAfterMs);
  await exited;
  clearTimeout(timer);
}
