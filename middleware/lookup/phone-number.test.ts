import { duplicateIndexForm, normalisePhone, type PhoneRules } from './phone-number';

const russia: PhoneRules = { countryCode: '7', nationalLength: 10, trunkPrefix: '8', outsidePrefixes: [] };
const russiaWith9: PhoneRules = { ...russia, outsidePrefixes: ['9'] };
const germany: PhoneRules = { countryCode: '49', nationalLength: 10, trunkPrefix: '0', outsidePrefixes: ['0'] };

describe('duplicateIndexForm (Bitrix24 NormalizePhone)', () => {
  it.each([
    ['+7 (912) 345-67-89', '79123456789'],
    ['8 912 345 67 89', '79123456789'],
    ['79123456789', '79123456789'],
    ['9123456789', '9123456789'], // a national number does not match the international one in Bitrix24
    ['0079123456789', '79123456789'],
    ['01149301234567', '49301234567'],
    ['+86 10 1234 5678', '861012345678'],
    ['8800 555 35 35', '78005553535'], // 8-800 is +7 800
    ['81 2345 678 90', '81234567890'], // 80/81/82… kept as is
    ['0441234567890', '441234567890'],
    ['12345', '12345'], // shorter than ten digits: untouched
  ])('%s → %s', (input, expected) => {
    expect(duplicateIndexForm(input)).toBe(expected);
  });
});

describe('normalisePhone', () => {
  it.each<[string, PhoneRules, string, string[]]>([
    ['+7 (912) 345-67-89', russia, '79123456789', ['79123456789', '9123456789']],
    ['89123456789', russia, '79123456789', ['79123456789', '9123456789']],
    ['9123456789', russia, '79123456789', ['79123456789', '9123456789']],
    ['79123456789', russia, '79123456789', ['79123456789', '9123456789']],
    ['tel:+79123456789', russia, '79123456789', ['79123456789', '9123456789']],
    ['989123456789', russiaWith9, '79123456789', ['79123456789', '9123456789']], // outside line 9 + 8…
    ['9123456789', russiaWith9, '79123456789', ['79123456789', '9123456789']], // 9 is part of the number here
    ['+49 30 1234 5678', germany, '493012345678', ['493012345678', '3012345678']],
    ['00301234567890', germany, '49301234567890', ['49301234567890', '301234567890']], // outside 0, then 030… national
    ['+1 415 555 0100', russia, '14155550100', ['14155550100']],
    ['12345', russia, '12345', ['12345']],
  ])('%s with %j → %s', (input, rules, digits, variants) => {
    const r = normalisePhone(input, rules);
    // The E.164 form goes to Bitrix24 with its "+", the national one as digits.
    expect(r).toEqual({ ok: true, phone: { digits, e164: `+${digits}`, variants: [`+${variants[0]}`, ...variants.slice(1)] } });
  });

  it.each([
    [undefined, 'ani is empty'],
    ['   ', 'ani is empty'],
    ['anonymous', 'ani is not a phone number (digits, +, spaces, ()-./ only)'],
    ['7912345678<script>', 'ani is not a phone number (digits, +, spaces, ()-./ only)'],
    ['1234', 'ani has fewer than 5 digits'],
    ['1234567890123456', 'ani has more than 15 digits'],
    ['1'.repeat(41), 'ani is longer than 40 characters'],
  ])('rejects %j: %s', (input, reason) => {
    expect(normalisePhone(input, russia)).toEqual({ ok: false, reason });
  });
});
