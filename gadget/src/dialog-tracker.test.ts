import { DOMParser as XmlDomParser } from '@xmldom/xmldom';
import { dialogUpdate, ringing, type DialogSpec } from '../../scripts/lab/finesse/finesse-xml';
import { DialogTracker, type TrackerOptions } from './dialog-tracker';
import { parseUpdate, type Dialog, type XmlParser } from './finesse-update';
import { customerNumber } from './pop-target';

const parse: XmlParser = (xml) => new XmlDomParser({ onError: () => undefined }).parseFromString(xml, 'text/xml') as unknown as Document;
const agent = '1001';
const opts: TrackerOptions = { agentExtension: agent, trigger: 'ALERTING', inbound: true, outbound: false };
const up = (event: 'POST' | 'PUT' | 'DELETE', d: DialogSpec) => parseUpdate(dialogUpdate(agent, event, d), parse);
const dialog = (d: DialogSpec): Dialog => (up('PUT', d) as { dialogs: Dialog[] }).dialogs[0]!;

const ring = ringing(agent, 'd1', '79001112233');
const answered: DialogSpec = {
  ...ring,
  state: 'ACTIVE',
  participants: [
    { address: agent, type: 'AGENT_DEVICE', state: 'ACTIVE' },
    { address: '79001112233', state: 'ACTIVE' },
  ],
};
const dropped: DialogSpec = {
  ...ring,
  state: 'DROPPED',
  participants: [
    { address: agent, type: 'AGENT_DEVICE', state: 'DROPPED' },
    { address: '79001112233', state: 'DROPPED' },
  ],
};

/** Feeds a sequence and returns the ids popped after each step. */
function run(o: TrackerOptions, steps: Array<['POST' | 'PUT' | 'DELETE', DialogSpec]>): string[][] {
  const t = new DialogTracker(o);
  return steps.map(([e, d]) => t.apply(up(e, d)).map((p) => p.dialog.id));
}

describe('DialogTracker', () => {
  it.each<[string, TrackerOptions, Array<['POST' | 'PUT' | 'DELETE', DialogSpec]>, string[][]]>([
    [
      'ring → answer → drop pops once, at ringing',
      opts,
      [
        ['POST', ring],
        ['PUT', answered],
        ['PUT', dropped],
        ['DELETE', dropped],
      ],
      [['d1'], [], [], []],
    ],
    [
      'trigger ACTIVE pops at answer',
      { ...opts, trigger: 'ACTIVE' },
      [
        ['POST', ring],
        ['PUT', ring],
        ['PUT', answered],
      ],
      [[], [], ['d1']],
    ],
    [
      'a missed call never pops with trigger ACTIVE',
      { ...opts, trigger: 'ACTIVE' },
      [
        ['POST', ring],
        ['PUT', dropped],
        ['DELETE', dropped],
      ],
      [[], [], []],
    ],
    [
      'duplicate POST and PUTs pop once',
      opts,
      [
        ['POST', ring],
        ['POST', ring],
        ['PUT', ring],
        ['PUT', answered],
      ],
      [['d1'], [], [], []],
    ],
    ['a PUT for an unknown live dialog (subscribed mid-call) pops', opts, [['PUT', answered]], [['d1']]],
    [
      'a late PUT after DELETE does not pop',
      opts,
      [
        ['DELETE', dropped],
        ['PUT', answered],
      ],
      [[], []],
    ],
    [
      'outbound calls are ignored by default',
      opts,
      [['POST', { id: 'o1', state: 'INITIATED', from: agent, to: '79001112233', callType: 'OUT', participants: [{ address: agent, state: 'INITIATED' }] }]],
      [[]],
    ],
    [
      'outbound pops when enabled and the far end rings',
      { ...opts, outbound: true },
      [
        ['POST', { id: 'o1', state: 'INITIATED', from: agent, to: '79001112233', callType: 'OUT', participants: [{ address: agent, state: 'INITIATED' }] }],
        ['PUT', { id: 'o1', state: 'ALERTING', from: agent, to: '79001112233', callType: 'OUT', participants: [{ address: agent, state: 'INITIATED' }] }],
      ],
      [[], ['o1']],
    ],
    ['a consult leg between agents does not pop', opts, [['POST', { ...ringing(agent, 'c1', '1002'), callType: 'CONSULT' }]], [[]]],
    ['a transferred customer call pops for the agent who receives it', opts, [['POST', { ...ringing(agent, 't1', '79001112233'), callType: 'TRANSFER' }]], [['t1']]],
    [
      'two calls pop each',
      opts,
      [
        ['POST', ring],
        ['POST', ringing(agent, 'd2', '79005556677')],
      ],
      [['d1'], ['d2']],
    ],
  ])('%s', (_name, o, steps, expected) => {
    expect(run(o, steps)).toEqual(expected);
  });

  it('keeps call variables that arrive late and never erases them with empty values', () => {
    const t = new DialogTracker({ ...opts, trigger: 'ACTIVE' });
    t.apply(up('POST', { ...ring, vars: { callVariable2: '' } }));
    t.apply(up('PUT', { ...ring, vars: { callVariable2: 'CONTACT:42' } }));
    const [pop] = t.apply(up('PUT', { ...answered, vars: { callVariable2: '' } }));
    expect(pop!.dialog.callVariables.callVariable2).toBe('CONTACT:42');
  });

  it('resync after reconnection pops a live dialog it missed, once, and forgets dialogs that ended meanwhile', () => {
    const t = new DialogTracker(opts);
    expect(t.apply(up('POST', ring)).length).toBe(1);
    const missed = dialog(ringing(agent, 'd2', '79005556677'));
    expect(t.resync([dialog(answered), missed]).map((p) => p.dialog.id)).toEqual(['d2']);
    expect(t.resync([dialog(answered), missed])).toEqual([]);
    t.resync([], new Set(['d2'])); // d2 was in a notification newer than the GET's answer: it stays
    expect(t.live().map((d) => d.id)).toEqual(['d2']);
    t.resync([]);
    expect(t.live()).toEqual([]);
  });

  it('does not pop again what was popped before a page reload', () => {
    expect(new DialogTracker({ ...opts, alreadyPopped: ['d1'] }).apply(up('POST', ring))).toEqual([]);
  });
});

/**
 * The whole contact center (conformance/finesse: Cisco's call types and Dialog address rules): what pops on the
 * desktop of agent 1001 (extension 1001 here) for each kind of leg — only a customer's call, with the customer's number.
 */
describe('DialogTracker: every kind of leg a contact center produces', () => {
  const customer = '79001112233';
  const leg = (callType: string, from: string, to: string, extra: Partial<DialogSpec> = {}): DialogSpec => ({
    id: '16777400',
    state: 'ALERTING',
    from,
    to,
    callType,
    participants: [
      { address: agent, type: 'AGENT_DEVICE', state: 'ALERTING' },
      { address: from === agent ? to : from, state: 'INITIATED' },
    ],
    ...extra,
  });
  const pops = (d: DialogSpec, o: TrackerOptions = { ...opts, outbound: true }) => new DialogTracker(o).apply(up('POST', d)).map((p) => p.dialog.id);
  const numberOf = (d: DialogSpec) => customerNumber(dialog(d), { crmBaseUrl: 'https://crm', entityVariable: 'callVariable2', phoneVariable: 'callVariable1', scriptUrlTemplate: '' }, agent);

  it.each<[string, DialogSpec, string | null]>([
    ['a blind transfer through a route point (UCCX OFFERED): the customer', leg('OFFERED', customer, '5000'), customer],
    ['a transferred call (TRANSFER): the customer', leg('TRANSFER', customer, agent), customer],
    ['a consult offered by agent 1002: nothing', leg('CONSULT_OFFERED', '1002', agent), null],
    ['another agent calling (AGENT_INSIDE from 1002): nothing', leg('AGENT_INSIDE', '1002', agent), null],
    ['an agent asking his supervisor for help (ASSIST): nothing', leg('ASSIST', '1002', agent), null],
    ['an emergency call to the supervisor: nothing', leg('EMERGENCY', '1002', agent), null],
    ['the supervisor barging in: nothing', leg('SUPERVISOR_BARGE_IN', customer, '5000'), null],
    ['the supervisor monitoring: nothing', leg('SUPERVISOR_MONITOR', customer, '5000'), null],
    ['the supervisor intercepting (he takes the customer): the customer', leg('SUPERVISOR_INTERCEPT', customer, '5000'), customer],
    ['a preview reservation call from dialer port 3001: nothing', leg('RESERVATION', '3001', agent), null],
    ["the campaign's customer leg (OUTBOUND_PREVIEW): the customer it called", leg('OUTBOUND_PREVIEW', agent, `9${customer}`, { callbackNumber: customer }), customer],
    ['a UCCX progressive campaign leg (AGENT_OUTBOUND): the number the dialer called', leg('AGENT_OUTBOUND', agent, customer), customer],
    ['a chat on the Media node: nothing', { ...leg('', 'ivan.petrov', agent), mediaType: 'Chat' }, null],
    ['a call type Cisco adds later: nothing', leg('SOMETHING_NEW', customer, '5000'), null],
  ])('%s', (_name, d, number) => {
    expect(pops(d)).toEqual(number ? ['16777400'] : []);
    if (number) expect(numberOf(d)).toBe(number);
  });

  it("a campaign leg pops with the inbound switch even when the agent's own outbound calls do not pop", () => {
    expect(pops(leg('OUTBOUND', agent, customer), opts)).toEqual(['16777400']);
    expect(pops(leg('OUT', agent, customer), opts)).toEqual([]);
  });
});
