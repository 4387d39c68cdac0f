import { periodToUtc } from './period';
import { renderReportPage, type PageData } from './report-page';
import type { CsqRow } from './reports';

/** Bad rows in the call database are visible on the page, in both languages, and only when there are some. */
describe('statistics page: undocumented dispositions', () => {
  const row = (unknownDisposition: number): CsqRow => ({
    csq: 'Sales', presented: 3, handled: 1, abandoned: 0, dequeued: 0, handledByOther: 0, unknownDisposition,
    avgQueueSeconds: 1, maxQueueSeconds: 1, serviceLevelPercent: 100,
  });
  const page = (unknown: number, lang: 'ru' | 'en') => {
    const d: PageData = {
      period: periodToUtc('2024-03-01', '2024-03-01', 'UTC'), filters: { queue: '', agent: '' }, csq: [row(unknown)],
      agents: [], abandoned: [], volume: [], volumeBy: 'hour', queues: ['Sales'],
    };
    return renderReportPage(lang, d, { self: '/bitrix/app', csv: (r) => `/csv/${r}` });
  };

  it('says how many records it could not classify', () => {
    expect(page(2, 'ru')).toContain('Записей очереди с исходом, которого нет в документации Cisco: 2.');
    expect(page(2, 'en')).toContain('Queue records with a disposition Cisco does not document: 2.');
  });

  it('says nothing when every record is classified', () => {
    expect(page(0, 'en')).not.toContain('data-warning="unknownDisposition"');
  });
});
