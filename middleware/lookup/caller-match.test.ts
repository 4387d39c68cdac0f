import { candidates, chooseRouting, type CrmMatch, type CrmUser } from './caller-match';

const users = new Map<number, CrmUser>([
  [5, { id: 5, active: true, extension: '1021' }],
  [6, { id: 6, active: true, extension: '1022' }],
  [7, { id: 7, active: false, extension: '1023' }],
  [8, { id: 8, active: true, extension: null }],
]);
const m = (type: CrmMatch['type'], id: number, responsibleId: number | null): CrmMatch => ({ type, id, responsibleId });

describe('chooseRouting', () => {
  it.each<[string, CrmMatch[], CrmMatch | null, string | null]>([
    ['no match', [], null, null],
    ['one contact with an active agent', [m('CONTACT', 42, 5)], m('CONTACT', 42, 5), '1021'],
    ['contact before a newer lead', [m('LEAD', 900, 6), m('CONTACT', 42, 5)], m('CONTACT', 42, 5), '1021'],
    ['lead before company', [m('COMPANY', 3, 5), m('LEAD', 310, 6)], m('LEAD', 310, 6), '1022'],
    ['routable responsible before a newer record', [m('CONTACT', 50, 7), m('CONTACT', 42, 5)], m('CONTACT', 42, 5), '1021'],
    ['newest among routable', [m('CONTACT', 42, 5), m('CONTACT', 77, 6)], m('CONTACT', 77, 6), '1022'],
    ['inactive responsible → queue', [m('CONTACT', 43, 7)], m('CONTACT', 43, 7), null],
    ['responsible without extension → queue', [m('CONTACT', 44, 8)], m('CONTACT', 44, 8), null],
    ['unknown responsible → queue', [m('LEAD', 45, 99)], m('LEAD', 45, 99), null],
    ['no responsible → queue', [m('LEAD', 46, null)], m('LEAD', 46, null), null],
    ['type wins over routability', [m('CONTACT', 43, 7), m('LEAD', 310, 6)], m('CONTACT', 43, 7), null],
  ])('%s', (_name, matches, match, extension) => {
    const r = chooseRouting(matches, users);
    expect(r?.match ?? null).toEqual(match);
    expect(r?.agent?.extension ?? null).toBe(extension);
  });
});

describe('candidates', () => {
  it('keeps the best type only, newest first, bounded', () => {
    const list = [m('LEAD', 1, 5), m('CONTACT', 2, 5), m('CONTACT', 9, 6), m('CONTACT', 4, 7)];
    expect(candidates(list, 2)).toEqual([m('CONTACT', 9, 6), m('CONTACT', 4, 7)]);
  });
});
