import type { Dialog } from './finesse-update';
import { targetFromDialog, targetFromLookup, type PopConfig } from './pop-target';

const cfg: PopConfig = { crmBaseUrl: 'https://crm.example/', entityVariable: 'callVariable2', phoneVariable: 'callVariable1', scriptUrlTemplate: '' };
const d = (vars: Record<string, string>, from = '79001112233'): Dialog => ({
  id: '16777301',
  state: 'ALERTING',
  fromAddress: from,
  toAddress: '5000',
  callType: 'ACD_IN',
  dnis: '5000',
  queueName: 'Q',
  callVariables: vars,
  participants: [],
});

describe('targetFromDialog', () => {
  it.each([
    [{ callVariable2: 'CONTACT:42' }, { kind: 'open', url: 'https://crm.example/crm/contact/details/42/', label: 'CONTACT:42', entity: { type: 'CONTACT', id: 42 } }],
    [{ callVariable2: 'lead:311' }, { kind: 'open', url: 'https://crm.example/crm/lead/details/311/', label: 'LEAD:311', entity: { type: 'LEAD', id: 311 } }],
    [
      { callVariable1: '+7 900 111-22-33', callVariable2: '' },
      { kind: 'lookup', phone: '+7 900 111-22-33' },
    ],
    [{ callVariable2: 'CONTACT:42/../../x' }, { kind: 'lookup', phone: '79001112233' }], // not a reference: never put into a URL
    [{}, { kind: 'lookup', phone: '79001112233' }],
  ])('%j', (vars, expected) => {
    expect(targetFromDialog(d(vars), cfg, '1021')).toEqual(expected);
  });

  it('has nothing to do without any number', () => {
    expect(targetFromDialog(d({}, ''), cfg, '1021')).toEqual({ kind: 'none', reason: 'no caller number' });
  });

  it("a withheld caller (empty fromAddress, only the agent on the call) is never looked up by the agent's extension", () => {
    const withheld = { ...d({}, ''), participants: [{ mediaAddress: '1021', mediaAddressType: 'AGENT_DEVICE', state: 'ALERTING', stateCause: '' }] };
    expect(targetFromDialog(withheld, cfg, '1021')).toEqual({ kind: 'none', reason: 'no caller number' });
  });

  it('a call the agent placed looks up the dialled customer, not the agent (fromAddress is his extension)', () => {
    const out = { ...d({}, '1021'), toAddress: '89123456789', callType: 'OUT' };
    expect(targetFromDialog(out, cfg, '1021')).toEqual({ kind: 'lookup', phone: '89123456789' });
    // Still AGENT_INSIDE (not yet reclassified), and with only the far leg known.
    const inside = {
      ...out,
      callType: 'AGENT_INSIDE',
      toAddress: '',
      participants: [
        { mediaAddress: '1021', mediaAddressType: 'AGENT_DEVICE', state: 'INITIATED', stateCause: '' },
        { mediaAddress: '84951112233', mediaAddressType: '', state: 'ALERTING', stateCause: '' },
      ],
    };
    expect(targetFromDialog(inside, cfg, '1021')).toEqual({ kind: 'lookup', phone: '84951112233' });
  });
});

describe('targetFromLookup', () => {
  const dialog = d({});
  it.each([
    [{ status: 'found', entityType: 'CONTACT', entityId: 42, phone: '+79001112233' }, cfg, 'https://crm.example/crm/contact/details/42/'],
    [{ status: 'created', entityType: 'LEAD', entityId: 1000, phone: '+79001112233' }, cfg, 'https://crm.example/crm/lead/details/1000/'],
    [
      { status: 'created', entityType: 'LEAD', entityId: 1000, phone: '+79001112233' },
      { ...cfg, scriptUrlTemplate: 'https://kb.example/script?phone={phone}&lead={leadId}&dialog={dialogId}' },
      'https://kb.example/script?phone=%2B79001112233&lead=1000&dialog=16777301',
    ],
    [
      { status: 'pending', entityType: '', entityId: null, phone: '+79001112233' },
      { ...cfg, scriptUrlTemplate: 'https://kb.example/script?phone={phone}&lead={leadId}' },
      'https://kb.example/script?phone=%2B79001112233&lead=',
    ],
  ] as const)('%j', (answer, config, url) => {
    expect(targetFromLookup(answer, dialog, config)).toMatchObject({ kind: 'open', url });
  });

  it('offers a choice when several records of the winning type have the number', () => {
    const answer = {
      status: 'found' as const,
      entityType: 'CONTACT',
      entityId: 47,
      phone: '+79152223344',
      matches: [
        { entityType: 'CONTACT', entityId: 47, name: 'Petr' },
        { entityType: 'CONTACT', entityId: 46, name: '' },
      ],
    };
    expect(targetFromLookup(answer, dialog, cfg)).toEqual({
      kind: 'pick',
      choices: [
        { url: 'https://crm.example/crm/contact/details/47/', label: 'Petr (CONTACT:47)' },
        { url: 'https://crm.example/crm/contact/details/46/', label: 'CONTACT:46' },
      ],
    });
    expect(targetFromLookup({ ...answer, matches: answer.matches.slice(0, 1) }, dialog, cfg)).toMatchObject({ kind: 'open' });
  });

  it('says why when there is nothing to open', () => {
    expect(targetFromLookup({ status: 'degraded', entityType: '', entityId: null, phone: '+7' }, dialog, cfg)).toEqual({ kind: 'none', reason: 'crm_unavailable' });
    expect(targetFromLookup({ status: 'pending', entityType: '', entityId: null, phone: '+7' }, dialog, cfg)).toEqual({ kind: 'none', reason: 'lead_pending' });
  });
});
