import { periodToUtc } from './period';
import { renderReportPage, type PageData } from './report-page';
import type { AbandonedRow, AgentRow, CsqRow } from './reports';

/** Bad rows in the call database are visible on the page, in both languages, and only when there are some. */
describe('statistics page: undocumented dispositions and durations', () => {
  const row = (unknownDisposition: number, invalidTimes = 0): CsqRow => ({
    csq: 'Sales',
    presented: 3,
    handled: 1,
    abandoned: 0,
    dequeued: 0,
    handledByOther: 0,
    unknownDisposition,
    invalidTimes,
    avgQueueSeconds: 1,
    maxQueueSeconds: 1,
    serviceLevelPercent: 100,
  });
  const agent = (invalidTimes: number): AgentRow => ({
    agent: 'Ivanov',
    login: 'ivanov',
    extension: '1021',
    presented: 1,
    handled: 1,
    rna: 0,
    talkSeconds: 10,
    holdSeconds: 0,
    workSeconds: 0,
    avgHandleSeconds: 10,
    invalidTimes,
  });
  const page = (unknown: number, lang: 'ru' | 'en', invalid: [number, number] = [0, 0]) => {
    const d: PageData = {
      period: periodToUtc('2024-03-01', '2024-03-01', 'UTC'),
      filters: { queue: '', agent: '' },
      csq: [row(unknown, invalid[0])],
      agents: [agent(invalid[1])],
      abandoned: [],
      volume: [],
      volumeBy: 'hour',
      queues: ['Sales'],
    };
    return renderReportPage(lang, d, { self: '/bitrix/app', csv: (r) => `/csv/${r}` });
  };

  it('says how many records it could not classify', () => {
    expect(page(2, 'ru')).toContain('Записей очереди с исходом, которого нет в документации Cisco: 2.');
    expect(page(2, 'en')).toContain('Queue records with a disposition Cisco does not document: 2.');
  });

  it('says nothing when every record is classified', () => {
    expect(page(0, 'en')).not.toContain('data-warning="unknownDisposition"');
    expect(page(0, 'en')).not.toContain('data-warning="invalidTimes"');
  });

  it('says how many durations were missing or negative (queue and agent records together)', () => {
    expect(page(0, 'en', [2, 1])).toContain('Records with a missing or negative duration (queue, talk, hold or work time): 3.');
    expect(page(0, 'ru', [2, 1])).toContain('Записей с пустой или отрицательной длительностью (очередь, разговор, удержание, поствызывная обработка): 3.');
  });
});

describe('statistics page: a long abandoned-call list', () => {
  const call = (i: number): AbandonedRow => ({ time: `2024-03-01 10:${String(i % 60).padStart(2, '0')}:00`, caller: `7900${i}`, csq: 'Sales', queueSeconds: 5, crmRef: '', crmUrl: null });
  const page = (n: number, lang: 'ru' | 'en') =>
    renderReportPage(
      lang,
      {
        period: periodToUtc('2024-03-01', '2024-03-01', 'UTC'),
        filters: { queue: '', agent: '' },
        csq: [],
        agents: [],
        abandoned: Array.from({ length: n }, (_, i) => call(i)),
        volume: [],
        volumeBy: 'hour',
        queues: [],
      },
      { self: '/bitrix/app', csv: (r) => `/csv/${r}` },
    );

  it('shows the first 500 and says how many there are, and that the CSV has them all', () => {
    const html = page(759, 'en');
    expect(html).toContain('>7900499<');
    expect(html).not.toContain('>7900500<');
    expect(html).toContain('The first 500 of 759 are shown; the CSV has them all.');
    expect(page(759, 'ru')).toContain('Показаны первые 500 из 759; все — в CSV.');
    expect(page(500, 'en')).not.toContain('data-note="shownOf"');
  });
});
