/** Test helpers: call the lookup over real HTTP and read the flat XML the UCCX script reads. */
export interface XmlAnswer {
  status: number;
  contentType: string;
  cacheControl: string;
  body: string;
  fields: Record<string, string>;
}

export function readFlatXml(xml: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const m of xml.matchAll(/<(\w+)>([^<]*)<\/\1>|<(\w+)\/>/g)) {
    if (m[1])
      fields[m[1]] = m[2]!
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&apos;/g, "'")
        .replace(/&amp;/g, '&');
    else if (m[3]) fields[m[3]] = '';
  }
  return fields;
}

export async function uccxLookup(base: string, params: Record<string, string>, method: 'GET' | 'POST' = 'GET'): Promise<XmlAnswer> {
  const q = new URLSearchParams(params).toString();
  const res =
    method === 'GET' ? await fetch(`${base}/uccx/lookup?${q}`) : await fetch(`${base}/uccx/lookup`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: q });
  const body = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    cacheControl: res.headers.get('cache-control') ?? '',
    body,
    fields: res.ok ? readFlatXml(body) : {},
  };
}
