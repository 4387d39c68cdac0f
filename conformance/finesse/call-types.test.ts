import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CALL_TYPE_CLASSES, callTypeName, classify, isCustomerCall, type CallClass } from '../../gadget/src/call-class';
import type { Dialog } from '../../gadget/src/finesse-update';

/**
 * Every call type of Cisco's tables (INDEX.md: UCCX's CTI "CallType Values", the CTI Server's enumeration, the
 * strings Finesse clients read) has a class in gadget/src/call-class.ts; anything else is `unknown` — never a
 * customer call, so a call type Cisco adds later cannot be popped or logged under a wrong number.
 */
const here = (p: string) => readFileSync(join(__dirname, p), 'utf8');

/** UCCX's table, as the page renders it: `CALLTYPE _TRANSFER_IN |` rows (spaces inside some names). */
const uccx = [...here('cisco-docs/uccx-calltype-values.txt').matchAll(/^(CALLTYPE[ _A-Z]+) \|$/gm)].map((m) => callTypeName(m[1]!));
/** The CTI Server's enumeration: `val NAME = Value(n)`. */
const cti = [...here('clients/cti-server-calltype-enum.txt').matchAll(/val (\w+)\s+= Value\(\s*(\d+)\)/g)].map((m) => ({ name: m[1]!, value: Number(m[2]) }));
/** Finesse clients' strings: `NAME: "NAME"` and C# enum members. */
const strings = here('clients/finesse-calltype-strings.txt');
const finesse = [...new Set([...strings.matchAll(/^\t(\w+): "\1",?$/gm), ...strings.matchAll(/^ {8}([A-Z_]+),?$/gm)].map((m) => m[1]!))];

const dialog = (callType: string, over: Partial<Dialog> = {}): Dialog => ({
  id: '16777301',
  mediaType: 'Voice',
  associatedDialogUri: '',
  state: 'ALERTING',
  fromAddress: '79001112233',
  toAddress: '1001',
  callType,
  dnis: '1001',
  queueName: '',
  callVariables: {},
  participants: [],
  ...over,
});

describe('Finesse call types: every documented value has a class', () => {
  it('reads the whole tables (UCCX 17 types, CTI Server 41, Finesse clients 18)', () => {
    expect(uccx).toHaveLength(17);
    expect(uccx).toContain('SUPERVISOR_BARGE_IN'); // "CALLTYPE_ SUPERVISOR_BARGE_IN" on the page
    expect(cti.map((c) => c.value)).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
    expect(finesse).toEqual(expect.arrayContaining(['CONSULT_OFFERED', 'OUTBOUND_DIRECT_PREVIEW', 'SUPERVISOR_MONITOR']));
    expect(finesse).toHaveLength(18);
  });

  it.each([...new Set([...uccx, ...cti.map((c) => c.name), ...finesse])])('%s is classified', (name) => {
    expect(Object.keys(CALL_TYPE_CLASSES)).toContain(name);
  });

  it.each<[string, CallClass]>([
    // Cisco's own words for each (CallType Values / CallType Fields, INDEX.md).
    ['ACD_IN', 'customer_in'], // all inbound (queued) calls
    ['CCX_IN', 'customer_in'], // Inbound Unified CCX call
    ['TRANSFER_IN', 'customer_in'], // Transferred inbound call
    ['OFFERED', 'customer_in'], // Blind transferred call
    ['OTHER_IN', 'customer_in'], // Non-ACD-Calls coming to an agent
    ['OUT', 'customer_out'], // reclassified to OUT when the call goes off-switch
    ['PREVIEW', 'campaign'], // an outbound preview call
    ['AGENT_OUTBOUND', 'campaign'], // agent outbound progressive or predictive call
    ['CONFERENCE', 'customer_in'], // ACD calls … conferenced
    ['RESERVATION', 'dialer'], // an outbound reservation call
    ['CONSULT', 'internal'], // originated by placing a consult
    ['CONSULT_OFFERED', 'internal'],
    ['ASSIST', 'supervisory'], // Call to supervisor for assistance
    ['EMERGENCY', 'supervisory'],
    ['SUPERVISOR_MONITOR', 'supervisory'], // silently monitoring
    ['SUPERVISOR_BARGE_IN', 'supervisory'], // Supervisor conferenced into call
    ['SUPERVISOR_INTERCEPT', 'intercept'], // Supervisor replaces agent on call
    ['TASK_ROUTED_BY_ICM', 'non_voice'],
  ])('%s → %s', (callType, cls) => {
    const placed = cls === 'customer_out' || cls === 'campaign' ? { fromAddress: '1001', toAddress: '79001112233' } : {};
    expect(classify(dialog(callType, placed), '1001')).toBe(cls);
  });

  it('a call type not in the tables is unknown and never a customer call', () => {
    for (const t of ['SOMETHING_NEW_2027', 'INVALID', 'CALLTYPE_INVALID']) {
      const c = classify(dialog(t), '1001');
      expect(c).toBe('unknown');
      expect(isCustomerCall(c)).toBe(false);
    }
  });

  it("AGENT_INSIDE is the agent's own call only when he placed it; a chat is never a call", () => {
    expect(classify(dialog('AGENT_INSIDE', { fromAddress: '1001', toAddress: '' }), '1001')).toBe('placed');
    expect(classify(dialog('AGENT_INSIDE', { fromAddress: '1002', toAddress: '1001' }), '1001')).toBe('internal');
    expect(classify(dialog('OUT', { fromAddress: '1002', toAddress: '1001' }), '1001')).toBe('internal');
    expect(classify(dialog('', { mediaType: 'Chat', id: 'a1b2_c3', fromAddress: 'ivan.petrov' }), '1001')).toBe('non_voice');
  });
});
