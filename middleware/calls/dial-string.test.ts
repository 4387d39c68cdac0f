import { dialString, type DialRules } from './dial-string';

const ru: DialRules = {
  phone: { countryCode: '7', nationalLength: 10, trunkPrefix: '8', outsidePrefixes: ['9'] },
  outsidePrefix: '9',
  internationalPrefix: '810',
};

describe('dialString', () => {
  it.each([
    ['+7 (912) 345-67-89', '989123456789'],
    ['89123456789', '989123456789'],
    ['9123456789', '989123456789'],
    ['+49 30 1234567', '981049301234567'],
    ['1022', '1022'],
    ['+79123456789;15', '989123456789'],
  ])('%s → %s', (clicked, expected) => {
    expect(dialString(clicked, ru)).toEqual({ ok: true, toAddress: expected });
  });

  it('uses the dial plan it is given (no outside prefix, 00 abroad, 0 trunk)', () => {
    const de: DialRules = { phone: { countryCode: '49', nationalLength: 10, trunkPrefix: '0', outsidePrefixes: [] }, outsidePrefix: '', internationalPrefix: '00' };
    expect(dialString('+49 301 2345678', de)).toEqual({ ok: true, toAddress: '03012345678' });
    expect(dialString('+7 912 345 67 89', de)).toEqual({ ok: true, toAddress: '0079123456789' });
  });

  it('refuses what is not a phone number, saying why', () => {
    expect(dialString('call me', ru)).toEqual({ ok: false, reason: 'number is not a phone number (digits, +, spaces, ()-./ only)' });
    expect(dialString('', ru)).toEqual({ ok: false, reason: 'number is empty' });
  });
});
