import { renderXml } from '../lookup/lookup-answer';
import { toCsv } from './table-output';

describe('what we render is safe where it goes', () => {
  it('CSV: a cell that starts like a formula is defused; quotes, separators and line breaks are quoted; numbers stay', () => {
    const csv = toCsv([
      { csq: '=HYPERLINK("http://x","y")', agent: '+7 900', note: '-2+3', who: '@SUM(A1)', calls: -3 },
      { csq: 'Sales; East', agent: 'Anna "A"', note: 'two\nlines', who: 'plain', calls: 12 },
    ]);
    expect(csv).toBe(['csq,agent,note,who,calls', `"'=HYPERLINK(""http://x"",""y"")",'+7 900,'-2+3,'@SUM(A1),-3`, '"Sales; East","Anna ""A""","two\nlines",plain,12', ''].join('\r\n'));
  });

  it('XML lookup answers: markup from Bitrix24 is escaped and characters XML cannot hold are dropped, never a 500', () => {
    const xml = renderXml({ route: 'agent', extension: '10\u000121<&>', entityType: 'CONTACT', entityId: 42, status: 'found', responsibleId: 5, phone: '+79123456789', reason: '\uFFFE', matches: [] });
    expect(xml).toContain('<extension>1021&lt;&amp;&gt;</extension>');
    expect(xml).toContain('<reason/>');
  });
});
