/** Percentiles and printing for the benchmarks. */
export function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}
export const f = (n: number) => n.toFixed(2);
export const verdict = (ok: boolean) => (ok ? 'goal met' : 'GOAL MISSED');
