import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseStringPromise } from 'xml2js';
import { GADGET_XML } from '../gadget/build';

/** The layout against the Finesse layout facts (Cisco Finesse Administration Guide, "Manage Desktop Layout") and our gadget's parameters. */
type Node = Record<string, unknown[]>;
const first = (n: unknown, k: string) => ((n as Node)[k] ?? [])[0];
const text = (v: unknown) => (typeof v === 'string' ? v : String((v as { _?: string })?._ ?? ''));

describe('layouts/finesse-layout.xml', () => {
  let root: Node;
  beforeAll(async () => {
    const doc = (await parseStringPromise(readFileSync(join(__dirname, 'finesse-layout.xml'), 'utf8'))) as { finesseLayout: Node & { $: Record<string, string> } };
    root = doc.finesseLayout;
    expect(doc.finesseLayout.$.xmlns).toBe('http://www.cisco.com/vtg/finesse');
  });

  const layouts = () => (root.layout as Node[]).map((l) => ({ role: text(first(l, 'role')), layout: l }));
  const gadgetUrls = (l: Node) => {
    const page = ((first(l, 'page') as Node).gadget ?? []).map(text);
    const tabs = ((first(l, 'tabs') as Node).tab as Node[]).flatMap((t) => ((first(t, 'columns') as Node).column as Node[]).flatMap((c) => ((first(c, 'gadgets') as Node).gadget ?? []).map(text)));
    return { page, tabs };
  };

  it('has a version and both roles', () => {
    expect(text(first(root, 'version'))).toMatch(/^\d+\.\d+$/);
    expect(layouts().map((l) => l.role)).toEqual(['Agent', 'Supervisor']);
  });

  it.each(['Agent', 'Supervisor'])('%s: the gadget once, at page level, with its parameters', (role) => {
    const l = layouts().find((x) => x.role === role)!.layout;
    const { page, tabs } = gadgetUrls(l);
    const ours = [...page, ...tabs].filter((u) => u.includes(GADGET_XML));
    // One instance per desktop: a second one would open its own session, look callers up and report calls again.
    expect(ours).toHaveLength(1);
    expect(page.filter((u) => u.includes(GADGET_XML))).toHaveLength(1);
    const u = ours[0]!;
    expect(u.startsWith(`/3rdpartygadget/files/fb24/${GADGET_XML}?`)).toBe(true);
    const q = new URL(u, 'https://finesse.example').searchParams;
    expect(new URL(q.get('middleware')!).protocol).toBe('https:');
    expect(new URL(q.get('crm')!).protocol).toBe('https:');
    expect(['ALERTING', 'ACTIVE']).toContain(q.get('trigger'));
    // The release's version: a new release is a new URL, and Finesse (which caches a gadget by its URL) loads it anew.
    expect(q.get('v')).toBe((JSON.parse(readFileSync(join(__dirname, '../package.json'), 'utf8')) as { version: string }).version);
    expect(q.has('token')).toBe(false); // no shared secret in a layout every desktop downloads
  });

  it('keeps the stock call control gadget', () => {
    for (const { layout } of layouts()) expect(gadgetUrls(layout).page[0]).toBe('/desktop/scripts/js/callcontrol.js');
  });
});
