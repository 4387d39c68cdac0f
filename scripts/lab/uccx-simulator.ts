import { parseStringPromise } from 'xml2js';

/**
 * Runs the UCCX call script of scripts/uccx-script-guide.md against the middleware, step by step, the way the UCCX
 * engine would: Create URL Document (with its timeout) → Create XML Document → Get XML Document Data →
 * Set Enterprise Call Info → Select Resource (agent) → Select Resource (CSQ) → Call Redirect (voicemail), with the
 * On Exception Goto path to the queue. Lab code: it stands in for UCCX, which cannot run here.
 */
export interface ScriptSettings {
  middlewareUrl: string;
  token: string;
  /** Create URL Document → Timeout (ms). */
  timeoutMs: number;
  csq: string;
  voicemailPilot: string;
}

/** What the contact center looks like right now: which agent extensions are Ready, whether the CSQ has agents. */
export interface Site {
  readyExtensions: Set<string>;
  csqStaffed: boolean;
}

export interface CallTrace {
  ani: string;
  callId: string;
  steps: string[];
  outcome: { kind: 'agent' | 'csq' | 'voicemail'; target: string };
  variables: { PeripheralVariable1: string; PeripheralVariable2: string };
  lookup: Record<string, string> | null;
  lookupMs: number;
}

/** Get XML Document Data with `/descendant::lookup/child::NAME`. */
export async function xmlField(doc: unknown, name: string): Promise<string> {
  const root = (doc as { lookup?: Record<string, unknown> }).lookup;
  if (!root) throw new Error('DocumentException: no <lookup> element');
  const v = root[name];
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' ? first : '';
}

let sequence = 0x1000000;

export async function runCallScript(ani: string, s: ScriptSettings, site: Site): Promise<CallTrace> {
  const callId = String(++sequence);
  const steps: string[] = [];
  const variables = { PeripheralVariable1: ani, PeripheralVariable2: '' };
  let lookup: Record<string, string> | null = null;
  const t0 = performance.now();
  let lookupMs = 0;
  steps.push(`Accept; callId ${callId}, ANI ${ani}`);
  steps.push('On Exception Goto com.cisco.doc.DocumentException → LBL_FALLBACK');
  const url = `${s.middlewareUrl}/uccx/lookup?${new URLSearchParams({ ani, callId, token: s.token })}`;
  steps.push(`Create URL Document: GET /uccx/lookup, timeout ${s.timeoutMs} ms`);
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(s.timeoutMs) });
    const text = await res.text();
    lookupMs = performance.now() - t0;
    if (!res.ok) throw new Error(`DocumentException: HTTP ${res.status} ${text.trim()}`);
    steps.push(`Create XML Document (${Math.round(lookupMs)} ms)`);
    const doc = await parseStringPromise(text);
    lookup = {};
    for (const f of ['route', 'extension', 'entityType', 'entityId', 'crmRef', 'status', 'reason']) lookup[f] = await xmlField(doc, f);
    steps.push(`Get XML Document Data: route=${lookup.route} extension=${lookup.extension || '—'} status=${lookup.status}${lookup.crmRef ? ` crmRef=${lookup.crmRef}` : ''}`);
    steps.push('On Exception Clear');
  } catch (err) {
    lookupMs = performance.now() - t0;
    const e = err as Error;
    steps.push(`exception: ${e.name === 'TimeoutError' ? `DocumentException: no answer in ${s.timeoutMs} ms` : e.message} → LBL_FALLBACK`);
  }
  if (lookup) {
    variables.PeripheralVariable2 = lookup.crmRef ?? '';
    steps.push(`Set Enterprise Call Info: PeripheralVariable1=${ani}, PeripheralVariable2=${variables.PeripheralVariable2 || '""'}`);
    if (lookup.route === 'agent' && lookup.extension) {
      const ready = site.readyExtensions.has(lookup.extension);
      steps.push(`Select Resource (Resource ${lookup.extension}, Connect=Yes): ${ready ? 'Connected' : 'Failed'}`);
      if (ready) return { ani, callId, steps, outcome: { kind: 'agent', target: lookup.extension }, variables, lookup, lookupMs };
    }
  } else {
    steps.push('LBL_FALLBACK:');
  }
  steps.push(`Select Resource (CSQ ${s.csq}, Connect=Yes): ${site.csqStaffed ? 'Connected' : 'no agent available'}`);
  if (site.csqStaffed) return { ani, callId, steps, outcome: { kind: 'csq', target: s.csq }, variables, lookup, lookupMs };
  steps.push(`Set Contact Info (handled); Call Redirect → ${s.voicemailPilot}: Successful`);
  return { ani, callId, steps, outcome: { kind: 'voicemail', target: s.voicemailPilot }, variables, lookup, lookupMs };
}
