import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

/**
 * A TypeScript entry point run as its own process, the way tests need it: node itself with tsx's loader (not the
 * `tsx` wrapper, whose node child outlives a kill of the wrapper), in a process group of its own so that a kill
 * reaches every process it started, and marked with the test run's id so `npm test` can prove nothing outlived it.
 */
export class NodeProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /**
   * `logFile`: where its stdout and stderr go (appended); else nowhere. `built`: `script` is an absolute path to
   * plain JavaScript (a release), run by node alone from `cwd`, as its service unit does.
   */
  constructor(script: string, env: Record<string, string>, logFile?: string, built?: { cwd: string }) {
    const out = logFile ? openSync(logFile, 'a') : 'ignore';
    this.child = spawn(process.execPath, built ? [script] : ['--import', 'tsx', join(ROOT, script)], {
      cwd: built?.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? '', ...runMarker(), ...env },
      stdio: ['ignore', out, out],
      detached: true,
    });
    if (typeof out === 'number') closeSync(out); // the child has its own copy
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('process did not start');
    return this.child.pid;
  }

  /** Signals the whole group (the process and anything it started). */
  signal(sig: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // already gone
    }
  }

  /** Kills the group and waits until the process is gone. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.signal('SIGKILL');
    await this.exited;
  }
}

export { processAlive } from '../middleware/process-alive';

/** The variable `npm test` sets for one run; every process a test starts carries it (scripts/test.sh checks). */
export function runMarker(): Record<string, string> {
  const id = process.env.FB24_TEST_RUN;
  return id ? { FB24_TEST_RUN: id } : {};
}
