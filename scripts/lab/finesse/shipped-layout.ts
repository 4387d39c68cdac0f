import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GADGET_XML } from '../../../gadget/build';

/** The desktop layout we ship (layouts/finesse-layout.xml): the lab desktop loads our gadget exactly as it places it. */
export const SHIPPED_LAYOUT = join(__dirname, '../../../layouts/finesse-layout.xml');

const unescapeXml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

/**
 * Each instance of our gadget the layout gives a role (page level and every tab), as its query parameters — what
 * Finesse's container would load, one iframe each. Read as text: the layout is a small, flat document.
 */
export function gadgetInstances(role: 'Agent' | 'Supervisor', path = SHIPPED_LAYOUT): URLSearchParams[] {
  const xml = readFileSync(path, 'utf8').replace(/<!--[\s\S]*?-->/g, '');
  const layout = [...xml.matchAll(/<layout>([\s\S]*?)<\/layout>/g)].map((m) => m[1]!).find((l) => new RegExp(`<role>\\s*${role}\\s*</role>`).test(l));
  if (!layout) throw new Error(`${path}: no layout for the role ${role}`);
  return [...layout.matchAll(/<gadget>([^<]*)<\/gadget>/g)]
    .map((m) => unescapeXml(m[1]!.trim()))
    .filter((u) => u.split('?')[0]!.endsWith(`/${GADGET_XML}`))
    .map((u) => new URL(u, 'https://finesse.invalid').searchParams);
}
