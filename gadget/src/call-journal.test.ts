import { DOMParser } from '@xmldom/xmldom';
import { dialogUpdate, ringing, type DialogSpec } from '../../scripts/lab/finesse/finesse-xml';
import { CallJournal } from './call-journal';
import { parseUpdate, type XmlParser } from './finesse-update';

const parse: XmlParser = (xml) => new DOMParser().parseFromString(xml, 'text/xml') as unknown as Document;

function journal() {
  let t = 1000;
  const j = new CallJournal({ agentExtension: '1021', entityVariable: 'callVariable2', now: () => t });
  const feed = (event: 'POST' | 'PUT' | 'DELETE', d: DialogSpec, at: number) => {
    t = at;
    return j.apply(parseUpdate(dialogUpdate('1001', event, d), parse));
  };
  return { j, feed };
}

const inbound = (state: string, agent: string, caller: string): DialogSpec => ({
  ...ringing('1021', '7', '79001112233', { callVariable2: 'CONTACT:42' }),
  state,
  participants: [
    { address: '1021', type: 'AGENT_DEVICE', state: agent },
    { address: '79001112233', state: caller },
  ],
});
const outbound = (state: string, cause?: string): DialogSpec => ({
  id: '9',
  state,
  from: '1021',
  to: '989123456789',
  callType: 'OUT',
  participants: [{ address: '1021', type: 'AGENT_DEVICE', state: state === 'ALERTING' ? 'ACTIVE' : state, cause }],
});

describe('CallJournal', () => {
  it('reports an answered inbound call: start, answer, end — each once, repeats and late PUTs ignored', () => {
    const { feed } = journal();
    expect(feed('POST', inbound('ALERTING', 'ALERTING', 'INITIATED'), 1000)).toEqual([
      { dialogId: '7', direction: 'inbound', number: '79001112233', startedAt: 1000, answeredAt: null, endedAt: null, failure: null, crmRef: 'CONTACT:42' },
    ]);
    expect(feed('PUT', inbound('ALERTING', 'ALERTING', 'INITIATED'), 1100)).toEqual([]);
    expect(feed('PUT', inbound('ACTIVE', 'ACTIVE', 'ACTIVE'), 3000)).toMatchObject([{ answeredAt: 3000, endedAt: null }]);
    expect(feed('PUT', inbound('DROPPED', 'DROPPED', 'DROPPED'), 9000)).toMatchObject([{ startedAt: 1000, answeredAt: 3000, endedAt: 9000 }]);
    expect(feed('DELETE', inbound('DROPPED', 'DROPPED', 'DROPPED'), 9100)).toEqual([]);
    expect(feed('PUT', inbound('ACTIVE', 'ACTIVE', 'ACTIVE'), 9200)).toEqual([]);
  });

  it('reports an inbound call that was never answered as ended without an answer', () => {
    const { feed } = journal();
    feed('POST', inbound('ALERTING', 'ALERTING', 'INITIATED'), 1000);
    expect(feed('PUT', inbound('DROPPED', 'DROPPED', 'DROPPED'), 11_000)).toMatchObject([{ answeredAt: null, endedAt: 11_000 }]);
  });

  it('reports an outbound call to the dialled string and a busy one with its cause', () => {
    const { feed } = journal();
    expect(feed('POST', outbound('INITIATING'), 1000)).toMatchObject([{ direction: 'outbound', number: '989123456789' }]);
    expect(feed('PUT', outbound('ALERTING'), 1200)).toEqual([]); // the far end rings: not answered yet
    expect(feed('PUT', outbound('FAILED', 'BUSY'), 1500)).toMatchObject([{ answeredAt: null, endedAt: 1500, failure: 'BUSY' }]);
  });

  it("after a reconnection, a dialog that vanished meanwhile ends — not one newer than the GET's answer", () => {
    const { j, feed } = journal();
    feed('POST', inbound('ALERTING', 'ALERTING', 'INITIATED'), 1000);
    expect(j.resync([], new Set(['7']))).toEqual([]);
    expect(j.resync([])).toMatchObject([{ dialogId: '7', endedAt: 1000 }]);
  });

  it('a dialog first seen already over (page reloaded mid-call) gives one end report marked partial', () => {
    const { feed } = journal();
    expect(feed('PUT', { ...outbound('DROPPED'), id: '10' }, 2000)).toEqual([
      { dialogId: '10', direction: 'outbound', number: '989123456789', startedAt: 2000, answeredAt: null, endedAt: 2000, failure: null, crmRef: null, partial: true },
    ]);
    expect(feed('DELETE', { ...outbound('DROPPED'), id: '10' }, 2100)).toEqual([]);
    expect(feed('DELETE', { ...inbound('DROPPED', 'DROPPED', 'DROPPED'), id: '11' }, 2200)).toMatchObject([{ dialogId: '11', direction: 'inbound', crmRef: 'CONTACT:42', partial: true }]);
  });
});

/** Each kind of leg (conformance/finesse call types): only a customer's call is logged, under the customer's number. */
describe('CallJournal: every kind of leg a contact center produces', () => {
  const customer = '79001112233';
  const leg = (callType: string, from: string, to: string, extra: Partial<DialogSpec> = {}): DialogSpec => ({
    id: '16777500',
    state: 'ACTIVE',
    from,
    to,
    callType,
    participants: [
      { address: '1021', type: 'AGENT_DEVICE', state: 'ACTIVE' },
      { address: from === '1021' ? to : from, state: 'ACTIVE' },
    ],
    ...extra,
  });
  it.each<[string, DialogSpec, { direction: string; number: string } | null]>([
    ['blind transfer through a route point', leg('OFFERED', customer, '5000'), { direction: 'inbound', number: customer }],
    ['consult offered by another agent', leg('CONSULT_OFFERED', '1022', '1021'), null],
    ['supervisor barge-in', leg('SUPERVISOR_BARGE_IN', customer, '5000'), null],
    ['assist request', leg('ASSIST', '1022', '1021'), null],
    ['supervisor intercept: his call with the customer from now on', leg('SUPERVISOR_INTERCEPT', customer, '5000'), { direction: 'inbound', number: customer }],
    ['preview reservation from a dialer port', leg('RESERVATION', '3001', '1021'), null],
    ['campaign customer leg', leg('OUTBOUND_PREVIEW', '1021', `9${customer}`, { callbackNumber: customer }), { direction: 'outbound', number: customer }],
    ['chat', { ...leg('', 'ivan.petrov', '1021'), mediaType: 'Chat' }, null],
    ['an unknown call type', leg('SOMETHING_NEW', customer, '5000'), null],
    ['an internal call from a 6-digit desk phone', leg('OTHER_IN', '201555', '1021'), null],
  ])('%s', (_name, d, expected) => {
    const { feed } = journal();
    const reports = [...feed('POST', d, 1000), ...feed('DELETE', { ...d, state: 'DROPPED' }, 5000)];
    if (!expected) return expect(reports).toEqual([]);
    expect(reports.at(-1)).toMatchObject({ dialogId: '16777500', ...expected, answeredAt: 1000, endedAt: 5000 });
  });
});
