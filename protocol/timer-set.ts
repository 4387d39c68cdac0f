/** Timers that can all be cancelled at once (a connection closing, a scenario reset); each forgets itself once fired. */
export class TimerSet {
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  clear(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
