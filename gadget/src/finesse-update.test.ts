import { DOMParser as XmlDomParser } from '@xmldom/xmldom';
import { dialogUpdate, dialogXml, pubsubMessage, ringing, updateXml } from '../../scripts/lab/finesse/finesse-xml';
import { ParseError, parseUpdate, topicOf, type XmlParser } from './finesse-update';

const parse: XmlParser = (xml) => new XmlDomParser({ onError: () => undefined }).parseFromString(xml, 'text/xml') as unknown as Document;
const agent = '1001';

describe('parseUpdate', () => {
  it('reads a POST of the Dialogs collection with call variables and ECC variables', () => {
    const u = parseUpdate(dialogUpdate(agent, 'POST', ringing(agent, '16777301', '79001112233', { callVariable1: '79001112233', callVariable2: 'CONTACT:42', 'user.crm_id': 'C-42' })), parse);
    expect(u).toEqual({
      kind: 'dialogs',
      event: 'POST',
      source: '/finesse/api/User/1001/Dialogs',
      requestId: '',
      dialogs: [
        {
          id: '16777301',
          mediaType: 'Voice',
          associatedDialogUri: '',
          callbackNumber: '',
          secondaryId: '',
          state: 'ALERTING',
          fromAddress: '79001112233',
          toAddress: '5000',
          callType: 'ACD_IN',
          dnis: '1001',
          queueName: 'CSQ_Sales',
          callVariables: {
            ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`callVariable${i + 1}`, ''])),
            callVariable1: '79001112233',
            callVariable2: 'CONTACT:42',
            'user.crm_id': 'C-42',
          },
          participants: [
            { mediaAddress: '1001', mediaAddressType: 'AGENT_DEVICE', state: 'ALERTING', stateCause: '' },
            { mediaAddress: '79001112233', mediaAddressType: '', state: 'INITIATED', stateCause: '' },
          ],
        },
      ],
    });
  });

  it.each<[string, string]>([
    ['escaped text inside the pubsub message', pubsubMessage(agent, dialogUpdate(agent, 'PUT', { ...ringing(agent, '7', '79001112233'), state: 'ACTIVE' }), '1001@finesse.lab/crm')],
    ['the Update itself', dialogUpdate(agent, 'PUT', { ...ringing(agent, '7', '79001112233'), state: 'ACTIVE' })],
    [
      'a decoded Update inside <notification>',
      `<notification xmlns="http://jabber.org/protocol/pubsub">${dialogUpdate(agent, 'PUT', { ...ringing(agent, '7', '79001112233'), state: 'ACTIVE' })}</notification>`,
    ],
    [
      'lower-case names and event',
      updateXml('put', '/finesse/api/Dialog/7', dialogXml({ ...ringing(agent, '7', '79001112233'), state: 'active', tag: 'dialog' })).replace(/<(\/?)Update>/g, '<$1update>'),
    ],
  ])('reads %s', (_name, xml) => {
    const u = parseUpdate(xml.startsWith('<message') ? (parse(xml).getElementsByTagName('notification')[0] as Element) : xml, parse);
    expect(u).toMatchObject({ kind: 'dialogs', event: 'PUT', dialogs: [{ id: '7', state: 'ACTIVE' }] });
  });

  it('reads a single participant and no call variables', () => {
    const u = parseUpdate(dialogUpdate(agent, 'POST', { id: '9', state: 'INITIATING', from: agent, callType: 'OUT', participants: [{ address: agent, state: 'INITIATING' }] }), parse);
    expect(u).toMatchObject({ dialogs: [{ id: '9', callVariables: {}, participants: [{ mediaAddress: '1001', state: 'INITIATING' }] }] });
  });

  it('reads DELETE and apiErrors', () => {
    expect(parseUpdate(dialogUpdate(agent, 'DELETE', { id: '7', state: 'DROPPED' }), parse)).toMatchObject({ event: 'DELETE', dialogs: [{ id: '7' }] });
    const err = parseUpdate(updateXml('PUT', '/finesse/api/User/1001', '<apiErrors><apiError><errorMessage>CTI error</errorMessage></apiError></apiErrors>'), parse);
    expect(err).toEqual({ kind: 'apiErrors', event: 'PUT', source: '/finesse/api/User/1001', requestId: '', errors: ['CTI error'] });
    expect(parseUpdate(updateXml('PUT', '/finesse/api/User/1001', '<user><state>READY</state></user>'), parse).kind).toBe('other');
  });

  it.each([
    ['not XML', 'hello'],
    ['truncated XML', '<Update><data><dialogs>'],
    ['an unknown event', updateXml('PATCH', '/x', '<dialogs/>')],
    ['an Update without data', '<Update><event>PUT</event></Update>'],
    ['a dialog without id', updateXml('PUT', '/x', '<Dialog><state>ACTIVE</state></Dialog>')],
  ])('rejects %s with a ParseError', (_name, xml) => {
    expect(() => parseUpdate(xml, parse)).toThrow(ParseError);
  });

  it('maps nodes to hub topics', () => {
    expect(topicOf('/finesse/api/User/1001/Dialogs')).toBe('finesse.api.User.1001.Dialogs');
  });
});
