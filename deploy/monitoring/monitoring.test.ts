import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { LAB_UCCX_TOKEN, startStack, type Stack } from '../../scripts/lab/lab-stack';
import { uccxLookup } from '../../testing/lookup-client';

/**
 * The alert rules and the Grafana dashboard shipped in deploy/monitoring, checked the way promtool and Grafana would
 * meet them: every PromQL expression parses with Prometheus's own grammar (@prometheus-io/lezer-promql), and every
 * metric and label it selects is one the middleware exports — a renamed metric fails here, not silently in production.
 */
interface Family {
  type: string;
  labels: Set<string>;
}

/** The metric families of a /metrics text, with the label names their series carry. */
function families(text: string): Map<string, Family> {
  const out = new Map<string, Family>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, { type: m[2]!, labels: new Set() });
  for (const m of text.matchAll(/^([a-zA-Z_:][\w:]*)\{([^}]*)\}/gm)) {
    const name = m[1]!.replace(/_(bucket|count|sum)$/, (all) => (out.has(m[1]!) ? all : ''));
    const fam = out.get(name) ?? out.get(m[1]!);
    for (const l of m[2]!.matchAll(/(\w+)="/g)) fam?.labels.add(l[1]!);
  }
  return out;
}

/** Prometheus's own PromQL grammar (an ES module with a CommonJS build: loaded once, in beforeAll). */
let parser: Awaited<typeof import('@prometheus-io/lezer-promql', { with: { 'resolution-mode': 'import' } })>['parser'];

/** What an expression selects: metric names with the label names matched on each; null where it does not parse. */
function selections(expr: string): Array<{ metric: string; labels: string[] }> | null {
  const tree = parser.parse(expr);
  const found: Array<{ metric: string; labels: string[] }> = [];
  const cursor = tree.cursor();
  let broken = false;
  do {
    if (cursor.type.isError) broken = true;
    if (cursor.type.name === 'VectorSelector') {
      const node = cursor.node;
      const id = node.getChild('Identifier');
      const labels: string[] = [];
      const matchers = node.getChild('LabelMatchers');
      if (matchers) {
        const c = matchers.cursor();
        do if (c.type.name === 'LabelName') labels.push(expr.slice(c.from, c.to));
        while (c.next() && c.from < matchers.to);
      }
      if (id) found.push({ metric: expr.slice(id.from, id.to), labels });
    }
  } while (cursor.next());
  return broken ? null : found;
}

const RULES = parseYaml(readFileSync(join(__dirname, 'finesse-bitrix24.rules.yml'), 'utf8')) as {
  groups: Array<{ name: string; rules: Array<{ alert: string; expr: string; for?: string; labels: { severity: string }; annotations: { summary: string; description: string } }> }>;
};
const DASHBOARD = JSON.parse(readFileSync(join(__dirname, 'grafana-dashboard.json'), 'utf8')) as { uid: string; panels: Array<{ id: number; title: string; targets: Array<{ expr: string }> }> };

describe('monitoring shipped in deploy/monitoring', () => {
  let stack: Stack;
  let exported: Map<string, Family>;
  beforeAll(async () => {
    ({ parser } = await import('@prometheus-io/lezer-promql'));
    stack = await startStack({ mode: 'webhook' });
    await uccxLookup(stack.url, { ani: '89123456789', token: LAB_UCCX_TOKEN });
    exported = families(await (await fetch(`${stack.url}/metrics`)).text());
    // A label shows in the text only once a series of it exists (no click yet): take the labels each metric declares.
    for (const m of stack.connector.metrics.registry.getMetricsAsArray() as unknown as Array<{ name: string; labelNames?: string[] }>) {
      for (const l of m.labelNames ?? []) exported.get(m.name)?.labels.add(l);
    }
  });
  afterAll(() => stack.stop());

  /** Metric names a query may use: exported families (a histogram's _bucket/_count/_sum), and Prometheus's own `up`. */
  const check = (expr: string, where: string) => {
    const sel = selections(expr);
    expect({ where, parses: sel !== null }).toEqual({ where, parses: true });
    for (const { metric, labels } of sel!) {
      const base = exported.has(metric) ? metric : metric.replace(/_(bucket|count|sum)$/, '');
      const fam = exported.get(base);
      if (metric === 'up') continue;
      expect({ where, metric, exported: Boolean(fam) && (base === metric || fam!.type === 'histogram') }).toEqual({ where, metric, exported: true });
      for (const l of labels.filter((x) => !['job', 'instance', 'le'].includes(x))) expect({ where, metric, label: l, known: fam!.labels.has(l) }).toEqual({ where, metric, label: l, known: true });
    }
  };

  it('every alert rule parses, selects only exported metrics and labels, and says what to do', () => {
    const rules = RULES.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(10);
    for (const r of rules) {
      check(r.expr, r.alert);
      expect(r.alert).toMatch(/^FinesseBitrix24\w+$/);
      expect(['critical', 'warning', 'info']).toContain(r.labels.severity);
      expect(r.annotations.summary.length).toBeGreaterThan(10);
      expect(r.annotations.description.length).toBeGreaterThan(10);
      if (r.for !== undefined) expect(r.for).toMatch(/^\d+[smh]$/);
    }
  });

  it("every dashboard panel's query parses and selects only exported metrics and labels", () => {
    expect(DASHBOARD.uid).toBe('finesse-bitrix24');
    const targets = DASHBOARD.panels.flatMap((p) => p.targets.map((t) => ({ where: p.title, expr: t.expr })));
    expect(targets.length).toBeGreaterThanOrEqual(12);
    for (const t of targets) check(t.expr, t.where);
    expect(new Set(DASHBOARD.panels.map((p) => p.id)).size).toBe(DASHBOARD.panels.length);
  });

  it('a wrong query is caught (the check itself): a typo in a name, an unknown label, a broken expression', () => {
    expect(selections('sum(rate(lookup_duration_seconds_count[5m]')).toBeNull();
    expect(() => check('rate(lookups_total[5m])', 'typo')).toThrow();
    expect(() => check('click_to_dial_total{result="dialled"}', 'label')).toThrow();
  });
});
