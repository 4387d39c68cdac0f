import { localDay, localHour, periodToUtc, PeriodError } from './period';

describe('periodToUtc', () => {
  it.each([
    ['2024-03-01', '2024-03-01', 'Europe/Moscow', '2024-02-29 21:00:00.000', '2024-03-01 21:00:00.000', 1],
    ['2024-03-31', '2024-03-31', 'Europe/Berlin', '2024-03-30 23:00:00.000', '2024-03-31 22:00:00.000', 1], // 23 h
    ['2024-10-27', '2024-10-27', 'Europe/Berlin', '2024-10-26 22:00:00.000', '2024-10-27 23:00:00.000', 1], // 25 h
    ['2024-03-01', '2024-03-31', 'Asia/Kolkata', '2024-02-29 18:30:00.000', '2024-03-31 18:30:00.000', 31],
  ])('%s..%s in %s', (from, to, zone, utcStart, utcEnd, days) => {
    expect(periodToUtc(from, to, zone)).toEqual({ timeZone: zone, from, to, utcStart, utcEnd, days });
  });

  it.each([
    ['2024-3-1', '2024-03-01', 'Europe/Moscow', 'from: expected a date YYYY-MM-DD'],
    ['2024-02-30', '2024-03-01', 'Europe/Moscow', 'from: expected a date YYYY-MM-DD'],
    ['2024-03-02', '2024-03-01', 'Europe/Moscow', 'to: must not be before from'],
    ['2024-03-01', '2024-03-01', 'Mars/Olympus', 'unknown time zone "Mars/Olympus"'],
    ['2020-01-01', '2024-03-01', 'Europe/Moscow', 'the period is longer than 366 days'],
  ])('rejects %s..%s %s', (from, to, zone, message) => {
    expect(() => periodToUtc(from, to, zone)).toThrow(new PeriodError(message));
  });
});

describe('local buckets', () => {
  it('puts a call at 21:00 UTC on the next local day in UTC+3', () => {
    expect(localDay('2024-03-01 21:00:00.000', 'Europe/Moscow')).toBe('2024-03-02');
    expect(localDay('2024-03-01 20:59:59.999', 'Europe/Moscow')).toBe('2024-03-01');
  });
  it('keeps the doubled hour of the autumn DST change as two buckets', () => {
    expect(localHour('2024-10-27 00:30:00.000', 'Europe/Berlin')).toBe('2024-10-27 02:00+02:00');
    expect(localHour('2024-10-27 01:30:00.000', 'Europe/Berlin')).toBe('2024-10-27 02:00+01:00');
  });
  it('handles half-hour zones', () => {
    expect(localHour('2024-03-01 06:05:10.123', 'Asia/Kolkata')).toBe('2024-03-01 11:00+05:30');
  });
});
