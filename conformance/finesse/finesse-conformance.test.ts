import { DOMParser as XmlDomParser } from '@xmldom/xmldom';
import { parse as parseStanza } from 'ltx';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CallJournal } from '../../gadget/src/call-journal';
import { DialogTracker } from '../../gadget/src/dialog-tracker';
import type { OpenAjaxHub } from '../../gadget/src/finesse-container';
import { parseUpdate, type FinesseUpdate, type XmlParser } from '../../gadget/src/finesse-update';
import { HubSource } from '../../gadget/src/hub-source';
import { targetFromDialog, type PopConfig } from '../../gadget/src/pop-target';
import { updatesOf } from '../../gadget/src/xmpp-source';
import { dialogUpdate, dialogXml, ringing } from '../../scripts/lab/finesse/finesse-xml';
import { finesseRelay } from '../../scripts/lab/finesse/finesse-relay';
import { FinesseEmulator } from '../../scripts/lab/finesse/finesse-emulator';
import { systemInfoStatus } from '../../middleware/finesse/finesse-sides';

/**
 * The product and the lab against real Finesse artefacts (INDEX.md says where each comes from). Where the lab
 * emulator differs from a real artefact, the emulator is wrong.
 */
const here = (p: string) => readFileSync(join(__dirname, p), 'utf8');
const parse: XmlParser = (xml) => new XmlDomParser({ onError: () => undefined }).parseFromString(xml, 'text/xml') as unknown as Document;
const relayOf = (node: string, xml: string) => finesseRelay(node + xml, (x) => parse(x));
const cfg: PopConfig = { crmBaseUrl: 'https://crm.example', entityVariable: 'callVariable2', phoneVariable: 'callVariable1', scriptUrlTemplate: '' };

/** Every real <Update>: file, the agent's extension in it, what it is. */
const UPDATES: Array<[string, string, { kind: FinesseUpdate['kind']; event: string; callType?: string }]> = [
  ['nodesimfinesse/preroute-acd-in-alerting-post.xml', '7073', { kind: 'dialogs', event: 'POST', callType: 'PREROUTE_ACD_IN' }],
  ['nodesimfinesse/preroute-acd-in-held-put.xml', '7073', { kind: 'dialogs', event: 'PUT', callType: 'PREROUTE_ACD_IN' }],
  ['nodesimfinesse/transfer-sst-active-put.xml', '7073', { kind: 'dialogs', event: 'PUT', callType: 'PREROUTE_ACD_IN' }],
  ['nodesimfinesse/transfer-alerting-post.xml', '7073', { kind: 'dialogs', event: 'POST', callType: 'PREROUTE_ACD_IN' }],
  ['nodesimfinesse/transfer-call-post.xml', '7073', { kind: 'dialogs', event: 'POST', callType: 'TRANSFER' }],
  ['nodesimfinesse/transfer-dropped-delete.xml', '6007', { kind: 'dialogs', event: 'DELETE', callType: 'TRANSFER' }],
  ['nodesimfinesse/agent-inside-initiating-post.xml', '7073', { kind: 'dialogs', event: 'POST', callType: 'AGENT_INSIDE' }],
  ['nodesimfinesse/cti-error-put-lowercase.xml', '7073', { kind: 'apiErrors', event: 'PUT' }],
  ['nodesimfinesse/user-reserved-put.xml', '7073', { kind: 'other', event: 'PUT' }],
  ['cisco-docs/dialog-cti-error-12.5.xml', '1001001', { kind: 'apiErrors', event: 'PUT' }],
  ['cisco-docs/user-put-lowercase-12.5.xml', '1001001', { kind: 'other', event: 'PUT' }],
  ['reconstructed/desktop-log-2017-withheld-put.xml', '440040', { kind: 'dialogs', event: 'PUT', callType: 'PREROUTE_ACD_IN' }],
  ['reconstructed/desktop-log-2017-user-put.xml', '440040', { kind: 'other', event: 'PUT' }],
];

/** A fake OpenAjax hub holding the gadget's subscriptions; `publish` delivers as the desktop's relay would. */
function fakeHub() {
  const subs = new Map<string, (topic: string, data: unknown) => void>();
  const hub: OpenAjaxHub = {
    subscribe: (topic, cb) => {
      subs.set(topic, cb);
      return topic;
    },
    publish: (topic, data) => subs.get(topic)?.(topic, data),
    unsubscribe: (id) => void subs.delete(id),
    isConnected: () => true,
  };
  return hub;
}

/** What the gadget's hub source hands on for one relayed payload: the XML, or why it could not. */
function throughHub(agentId: string, topic: string, data: unknown): { xml: string[]; invalid: string[] } {
  const hub = fakeHub();
  const got = { xml: [] as string[], invalid: [] as string[] };
  const source = new HubSource(hub, agentId);
  source.start({ update: (x) => got.xml.push(x as string), invalid: (r) => got.invalid.push(r), state: () => undefined, resync: () => undefined });
  hub.publish(topic, data);
  source.stop();
  return got;
}

describe('Finesse conformance: the parser on every real <Update>', () => {
  it.each(UPDATES)('%s', (file, _ext, want) => {
    const u = parseUpdate(here(file), parse);
    expect({ kind: u.kind, event: u.event }).toEqual({ kind: want.kind, event: want.event });
    if (u.kind === 'dialogs') expect(u.dialogs[0]!.callType).toBe(want.callType);
  });

  it("reads the CTI error of a real deployment and of Cisco's sample (lower-case event, <apiErrors><apiError>)", () => {
    expect(parseUpdate(here('nodesimfinesse/cti-error-put-lowercase.xml'), parse)).toMatchObject({
      kind: 'apiErrors',
      source: '/finesse/api/Dialog/154963621',
      errors: ['INVALID_ACTION UPDATE_CALL_DATA on extension 7073'],
    });
    expect(parseUpdate(here('cisco-docs/dialog-cti-error-12.5.xml'), parse)).toMatchObject({ kind: 'apiErrors', errors: ['CF_RESOURCE_OUT_OF_SERVICE'] });
  });

  it("reads all ten call variables and the ECC variables of a prerouted CVP call; DNIS is the agent's extension", () => {
    const u = parseUpdate(here('nodesimfinesse/preroute-acd-in-alerting-post.xml'), parse);
    const d = u.kind === 'dialogs' ? u.dialogs[0]! : null;
    expect(d).toMatchObject({ id: '147370467', fromAddress: '01042600114', toAddress: '811802', dnis: '7073', state: 'ALERTING' });
    expect(Object.keys(d!.callVariables).filter((k) => /^callVariable\d+$/.test(k))).toHaveLength(10);
    expect(d!.callVariables['user.microapp.locale']).toBe('en-us');
  });
});

describe('Finesse conformance: the desktop relay (finesse.js MasterPublisher) into the gadget', () => {
  it.each(UPDATES.filter(([, , w]) => w.kind === 'dialogs'))('%s: node-prefixed content, object only, and JSON content all give the same dialogs', (file) => {
    const xml = here(file);
    const direct = parseUpdate(xml, parse);
    const { topic, data } = relayOf('/finesse/api/User/1001/Dialogs', xml);
    expect(topic).toBe('finesse.api.User.1001.Dialogs');
    expect(data.content.startsWith('/finesse/api/User/1001/Dialogs<')).toBe(true); // not XML at its start: the 2026 bug
    for (const relayed of [data, { object: data.object }, { content: `/finesse/api/User/1001/Dialogs${JSON.stringify(data.object)}`, object: data.object }]) {
      const got = throughHub('1001', topic, relayed);
      expect(got.invalid).toEqual([]);
      expect(parseUpdate(got.xml[0]!, parse)).toEqual(direct);
    }
  });

  it('our relay builds exactly the object a real desktop logged for a User PUT (desktop log, 2017)', () => {
    const logged = /"object":(\{"Update".*\})\}\s*$/m.exec(here('captures/desktop-log-2017-withheld-caller.txt').split('--- excerpt 2')[1]!.split('\n')[1]!)![1]!;
    const { data } = relayOf('/finesse/api/User/3029', here('reconstructed/desktop-log-2017-user-put.xml'));
    expect(data.object).toEqual(JSON.parse(logged));
  });

  it("our relay builds the object a real desktop logged for a withheld caller's dialog (its logged tail, verbatim)", () => {
    const tail = here('captures/desktop-log-2017-withheld-caller.txt')
      .split('\n')
      .find((l) => l.startsWith('[…],"value":null},{"name":"callVariable9"'))!
      .slice('[…]'.length);
    const { data } = relayOf('/finesse/api/User/3029/Dialogs', here('reconstructed/desktop-log-2017-withheld-put.xml'));
    expect(`${JSON.stringify(data.object)}}`.endsWith(tail)).toBe(true);
  });

  it('a payload the desktop would not publish, or nonsense on the hub, is reported invalid and never handed on', () => {
    expect(() => relayOf('/finesse/api/User/1001/Dialogs', '<Update><data><dialogs><Dialog>')).toThrow(); // does not parse
    expect(() => finesseRelay('<Update/>', (x) => parse(x))).toThrow(/node is not given/);
    for (const bad of [42, null, { content: '/finesse/api/User/1001/Dialogs' }, { content: '/finesse/api/User/1001/Dialogs{"Update":' }, { object: 'x' }]) {
      const got = throughHub('1001', 'finesse.api.User.1001.Dialogs', bad);
      expect(got.xml).toEqual([]);
      expect(got.invalid).toHaveLength(1);
    }
  });
});

describe('Finesse conformance: what the gadget does with real calls', () => {
  const first = (file: string) => {
    const u = parseUpdate(here(file), parse);
    if (u.kind !== 'dialogs') throw new Error('not a dialog');
    return { u, d: u.dialogs[0]! };
  };

  it('a real XMPP notification (UCCE, decoded <Update> inside <notification>): one inbound pop; the 6-digit caller is looked up only where internal numbers are shorter', () => {
    const stanza = parseStanza(here('captures/ucce-other-in-xmpp-message.xml').trim());
    const [xml] = updatesOf(stanza as never);
    const u = parseUpdate(xml!, parse);
    const tracker = new DialogTracker({ agentExtension: '215194', trigger: 'ALERTING', inbound: true, outbound: true });
    const pops = tracker.apply(u);
    expect(pops.map((p) => [p.dialog.id, p.direction])).toEqual([['53149720', 'inbound']]);
    expect(tracker.apply(u)).toEqual([]); // the same notification again: no second pop
    // This deployment's extensions have 6 digits (215194): an OTHER_IN call ("from outside or from unmonitored
    // devices") from a 6-digit number is, by default, an internal phone — nothing looked up, nothing logged.
    expect(targetFromDialog(pops[0]!.dialog, cfg, '215194')).toEqual({ kind: 'none', reason: 'no caller number' });
    expect(new CallJournal({ agentExtension: '215194', entityVariable: 'callVariable2', now: () => 1000 }).apply(u)).toEqual([]);
    // Where internal numbers have at most 5 digits (internalDigits=5), 335892 is a customer's.
    expect(targetFromDialog(pops[0]!.dialog, { ...cfg, internalMaxDigits: 5 }, '215194')).toEqual({ kind: 'lookup', phone: '335892' });
    const journal = new CallJournal({ agentExtension: '215194', entityVariable: 'callVariable2', internalMaxDigits: 5, now: () => 1000 });
    expect(journal.apply(u)).toMatchObject([{ dialogId: '53149720', direction: 'inbound', number: '335892' }]);
  });

  it('Finesse 12.5\'s <notification xmlns="urn:xmpp:push:0"> carries the same Update (escaped or decoded)', () => {
    const update = dialogUpdate('1001', 'POST', ringing('1021', '77001', '79001112233'));
    const esc = update.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    for (const body of [esc, update]) {
      const stanza = parseStanza(
        `<message from="pubsub.f" to="1001@f/x"><event xmlns="http://jabber.org/protocol/pubsub#event"><items node="/finesse/api/User/1001/Dialogs"><item id="a1"><notification xmlns="urn:xmpp:push:0">${body}</notification></item></items></event></message>`,
      );
      const [xml] = updatesOf(stanza as never);
      expect(parseUpdate(xml!, parse)).toEqual(parseUpdate(update, parse));
    }
  });

  it("a withheld caller (empty fromAddress, only the agent's leg): no lookup of the agent's own number, nothing to log", () => {
    const { u, d } = first('reconstructed/desktop-log-2017-withheld-put.xml');
    const pops = new DialogTracker({ agentExtension: '440040', trigger: 'ALERTING', inbound: true, outbound: true }).apply(u);
    expect(pops).toHaveLength(1);
    expect(targetFromDialog(d, { ...cfg, phoneVariable: 'callVariable9' }, '440040')).toEqual({ kind: 'none', reason: 'no caller number' });
    // Its script left "Networks1" in callVariable1 (the default phone variable): a call variable is a number only when it is one.
    expect(d.callVariables.callVariable1).toBe('Networks1');
    expect(targetFromDialog(d, cfg, '440040')).toEqual({ kind: 'none', reason: 'no caller number' });
    expect(new CallJournal({ agentExtension: '440040', entityVariable: 'callVariable2' }).apply(u)).toEqual([]);
  });

  it('a call the agent places is AGENT_INSIDE at first (only his leg): no pop, no customer call yet', () => {
    const { u } = first('nodesimfinesse/agent-inside-initiating-post.xml');
    expect(new DialogTracker({ agentExtension: '7073', trigger: 'ALERTING', inbound: true, outbound: true }).apply(u)).toEqual([]);
    expect(new CallJournal({ agentExtension: '7073', entityVariable: 'callVariable2' }).apply(u)).toEqual([]); // no number yet
  });

  it("a transferred call pops for the agent who receives it, with the customer's number (not the transferring leg)", () => {
    const { u } = first('nodesimfinesse/transfer-call-post.xml');
    const pops = new DialogTracker({ agentExtension: '7073', trigger: 'ALERTING', inbound: true, outbound: false }).apply(u);
    expect(pops).toHaveLength(1);
    // (That deployment's script uses callVariable1 for its own data; ours puts the caller there. Here: none set.)
    expect(targetFromDialog(pops[0]!.dialog, { ...cfg, phoneVariable: 'user.ani' }, '7073')).toEqual({ kind: 'lookup', phone: '01042600114' });
  });
});

describe('Finesse conformance: the lab emulator against real shapes', () => {
  const skeleton = (xml: string, path: string[]): string[] => {
    let el = parse(xml).documentElement as Element | null;
    for (const name of path) el = [...((el?.childNodes ?? []) as unknown as Element[])].find((n) => n.nodeType === 1 && n.nodeName.toLowerCase() === name.toLowerCase()) ?? null;
    return [...((el?.childNodes ?? []) as unknown as Element[])].filter((n) => n.nodeType === 1).map((n) => n.nodeName);
  };
  const realUpdate = () => updatesOf(parseStanza(here('captures/ucce-other-in-xmpp-message.xml').trim()) as never)[0]!;
  const labUpdate = dialogUpdate('1001', 'POST', ringing('1021', '16777301', '79001112233'));

  it("Update and Dialog children in Finesse's order", () => {
    expect(skeleton(labUpdate, [])).toEqual(skeleton(realUpdate(), []));
    expect(skeleton(labUpdate, ['data', 'dialogs', 'Dialog'])).toEqual(skeleton(realUpdate(), ['data', 'dialogs', 'Dialog']));
    expect(skeleton(labUpdate, ['data', 'dialogs', 'Dialog', 'participants', 'Participant'])).toEqual(skeleton(realUpdate(), ['data', 'dialogs', 'Dialog', 'participants', 'Participant']));
  });

  it("mediaProperties as real Finesse fills them: DNIS = the agent's extension, all ten call variables, empty ones written out", () => {
    const real = skeleton(realUpdate(), ['data', 'dialogs', 'Dialog', 'mediaProperties']);
    const lab = skeleton(labUpdate, ['data', 'dialogs', 'Dialog', 'mediaProperties']);
    expect(lab.filter((n) => real.includes(n))).toEqual(real);
    const u = parseUpdate(labUpdate, parse);
    const d = u.kind === 'dialogs' ? u.dialogs[0]! : null;
    expect(d!.dnis).toBe('1021');
    expect(Object.keys(d!.callVariables)).toEqual(Array.from({ length: 10 }, (_, i) => `callVariable${i + 1}`));
    expect(dialogXml({ id: '1', state: 'ACTIVE' })).toContain('<associatedDialogUri></associatedDialogUri>');
  });

  it('caller and agent actions as real captures show them', () => {
    const real = parseUpdate(here('nodesimfinesse/transfer-sst-active-put.xml'), parse);
    const actions = (xml: string) => [...xml.matchAll(/<actions>([\s\S]*?)<\/actions>/g)].map((m) => [...m[1]!.matchAll(/<action>(\w+)<\/action>/g)].map((a) => a[1]));
    expect(real.kind).toBe('dialogs');
    const labActive = dialogXml({
      ...ringing('1021', '2', '79001112233'),
      state: 'ACTIVE',
      participants: [
        { address: '1021', type: 'AGENT_DEVICE', state: 'ACTIVE' },
        { address: '79001112233', state: 'ACTIVE' },
      ],
    });
    expect(actions(labActive)[0]).toEqual(actions(here('nodesimfinesse/transfer-sst-active-put.xml'))[0]);
    expect(actions(dialogXml(ringing('1021', '3', '79001112233')))).toEqual(actions(here('captures/ucce-other-in-xmpp-message.xml')));
  });
});

/** SystemInfo as Cisco documents it (cisco-docs/systeminfo-structure.xml) and as finesse.js reads it (getStatus). */
describe('SystemInfo', () => {
  const documented = here('cisco-docs/systeminfo-structure.xml');
  const children = (xml: string) => [...parse(xml).documentElement.childNodes].filter((n) => n.nodeType === 1).map((n) => n.nodeName);

  it('the lab answers only documented elements, in the documented order', async () => {
    const emulator = new FinesseEmulator(__dirname);
    await emulator.start();
    await emulator.startSideB();
    const lab = children(await (await fetch(`${emulator.urlB}/finesse/api/SystemInfo`)).text());
    await emulator.stop();
    const doc = children(documented);
    expect(lab.every((name) => doc.includes(name))).toBe(true);
    expect(lab).toEqual(doc.filter((name) => lab.includes(name)));
    expect(lab).toEqual(expect.arrayContaining(['status', 'primaryNode', 'secondaryNode', 'xmppDomain', 'xmppPubSubDomain']));
  });

  it('the middleware counts a side in service only when its status says IN_SERVICE', async () => {
    expect(await systemInfoStatus(documented)).toBe('OUT_OF_SERVICE'); // the structure, status empty
    expect(await systemInfoStatus(documented.replace('<status></status>', '<status>IN_SERVICE</status>'))).toBe('IN_SERVICE');
    expect(await systemInfoStatus('<ApiErrors/>')).toBe('unreachable');
  });
});
