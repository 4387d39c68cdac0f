import moment from 'moment-timezone';
import { localDay, localHour, localTime, periodToUtc, PeriodError, UTC_TEXT } from './period';

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

describe('localTime', () => {
  it.each(['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Europe/Moscow'])(
    'agrees with moment every 67 minutes 13 seconds through a year of %s, and around each DST change',
    (zone) => {
      const instants: string[] = [];
      const t = moment.utc('2024-01-01 00:00:00.000', UTC_TEXT);
      for (let i = 0; i < 7_900; i++, t.add(4033, 's')) instants.push(t.format(UTC_TEXT));
      // Every second of the two minutes around each change the zone makes in 2024.
      const z = moment.tz.zone(zone)!;
      for (const until of z.untils.filter((u) => u >= Date.UTC(2024, 0, 1) && u < Date.UTC(2025, 0, 1))) {
        for (let ms = until - 60_000; ms < until + 60_000; ms += 1000) instants.push(moment.utc(ms).format(UTC_TEXT));
      }
      const wrong = instants.filter((utc) => localTime(utc, zone) !== moment.utc(utc, UTC_TEXT).tz(zone).format('YYYY-MM-DD HH:mm:ss'));
      expect(wrong).toEqual([]);
    },
  );

  it('the DST change of Berlin inside its hour: 00:59:59 UTC is 01:59:59 CET, 01:00:00 UTC is 03:00:00 CEST', () => {
    expect(localTime('2024-03-31 00:59:59.000', 'Europe/Berlin')).toBe('2024-03-31 01:59:59');
    expect(localTime('2024-03-31 01:00:00.000', 'Europe/Berlin')).toBe('2024-03-31 03:00:00');
  });
});
