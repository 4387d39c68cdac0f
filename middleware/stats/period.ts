import moment from 'moment-timezone';
import { NamedError } from '../../protocol/named-error';

/**
 * Portal-local days and hours ↔ UTC, DST-correct (Cisco UCCX Database Schema Guide 12.5(1)). db_cra stores every DATETIME in UTC as
 * `YYYY-MM-DD HH:MM:SS.fff`; a report period is a range of local dates, turned into a half-open UTC range here, and
 * each call is put in its local hour/day here — never by the database's TODAY/CURRENT or a fixed offset.
 */
export const UTC_TEXT = 'YYYY-MM-DD HH:mm:ss.SSS';
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export class PeriodError extends NamedError {}

export interface Period {
  timeZone: string;
  from: string;
  to: string;
  /** Half-open UTC range [utcStart, utcEnd) in db_cra's text form. */
  utcStart: string;
  utcEnd: string;
  days: number;
}

export function isTimeZone(zone: string): boolean {
  return moment.tz.zone(zone) !== null;
}

/** `from`..`to` are local dates, inclusive. */
export function periodToUtc(from: string, to: string, timeZone: string, maxDays = 366): Period {
  if (!isTimeZone(timeZone)) throw new PeriodError(`unknown time zone "${timeZone}"`);
  for (const [name, v] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (!DATE.test(v) || !moment.tz(v, 'YYYY-MM-DD', true, timeZone).isValid()) throw new PeriodError(`${name}: expected a date YYYY-MM-DD`);
  }
  const start = moment.tz(from, 'YYYY-MM-DD', true, timeZone).startOf('day');
  const end = moment.tz(to, 'YYYY-MM-DD', true, timeZone).add(1, 'day').startOf('day');
  const days = Math.round(end.clone().tz('UTC').diff(start.clone().tz('UTC'), 'hours') / 24);
  if (!end.isAfter(start)) throw new PeriodError('to: must not be before from');
  if (days > maxDays) throw new PeriodError(`the period is longer than ${maxDays} days`);
  return { timeZone, from, to, utcStart: start.clone().utc().format(UTC_TEXT), utcEnd: end.clone().utc().format(UTC_TEXT), days };
}

function local(utcText: string, timeZone: string): moment.Moment {
  return moment.utc(utcText, UTC_TEXT).tz(timeZone);
}

/** The local date of a UTC db_cra value. */
export function localDay(utcText: string, timeZone: string): string {
  return local(utcText, timeZone).format('YYYY-MM-DD');
}

/** The local hour bucket of a UTC value: date, hour and UTC offset (so the doubled hour of a DST end stays two). */
export function localHour(utcText: string, timeZone: string): string {
  return local(utcText, timeZone).format('YYYY-MM-DD HH:00Z');
}

/** `zone|YYYY-MM-DD HH` → the zone's UTC offset (minutes) through that UTC hour, or null when it changes within it. */
const hourOffsets = new Map<string, number | null>();

function hourOffset(utcText: string, timeZone: string): number | null {
  const key = `${timeZone}|${utcText.slice(0, 13)}`;
  let off = hourOffsets.get(key);
  if (off === undefined) {
    const start = moment.utc(utcText.slice(0, 13), 'YYYY-MM-DD HH', true);
    const first = start.clone().tz(timeZone).utcOffset();
    const last = start.clone().add(3_599_999, 'ms').tz(timeZone).utcOffset();
    off = start.isValid() && first === last ? first : null;
    if (hourOffsets.size >= 100_000) hourOffsets.clear();
    hourOffsets.set(key, off);
  }
  return off;
}

const FULL_UTC = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/;

/**
 * A UTC value shown in the portal's zone. Reports convert every row (a month's abandoned calls can be 100 000):
 * the offset is looked up once per UTC hour, and moment is used only in an hour where it changes.
 */
export function localTime(utcText: string, timeZone: string): string {
  const off = FULL_UTC.test(utcText) ? hourOffset(utcText, timeZone) : null;
  if (off === null) return local(utcText, timeZone).format('YYYY-MM-DD HH:mm:ss');
  const ms = Date.parse(`${utcText.slice(0, 10)}T${utcText.slice(11, 19)}Z`) + off * 60_000;
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}
