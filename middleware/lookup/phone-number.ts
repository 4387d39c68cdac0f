import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import metadata from 'libphonenumber-js/metadata.max.json';

/**
 * Caller numbers normalised the way Bitrix24's duplicate index does (main module NormalizePhone, as
 * conformance/bitrix24/INDEX.md describes it), after our own site rules (outside-line prefix, national numbers).
 * Pure: the rules are data, so an integrator's dial plan is a table, and so is its test.
 */
export interface PhoneRules {
  /** Country code added to a national number, e.g. "7". */
  countryCode: string;
  /** Digits of a national significant number, e.g. 10 in Russia. */
  nationalLength: number;
  /** National trunk prefix dialled before a national number, e.g. "8" (Russia) or "0". */
  trunkPrefix: string;
  /** Outside-line prefixes that CUCM/UCCX may leave in front of the number, e.g. ["9"]. */
  outsidePrefixes: string[];
}

export const MIN_DIGITS = 5;
export const MAX_DIGITS = 15; // E.164
export const MAX_INPUT_LENGTH = 40;

export type PhoneNumber = {
  /** Canonical digits, country code first, as the duplicate index stores them. */
  digits: string;
  /** "+" + digits, what we write into Bitrix24. */
  e164: string;
  /**
   * Values that find this caller in Bitrix24's duplicate index, as Bitrix24 takes them: the E.164 form ("+" keeps
   * +86… from the index's 8 → 7 rule) and the national number (CRM users type "(912) 345-67-89").
   */
  variants: string[];
};

export type PhoneResult = { ok: true; phone: PhoneNumber } | { ok: false; reason: string };

/** Bitrix24's own NormalizePhone for values of ten or more digits; shorter values stay as they are. */
export function duplicateIndexForm(raw: string): string {
  let s = raw.trim();
  if (s.startsWith('+8')) s = `00${s.slice(1)}`; // keeps +86… from the 8→7 rule below
  const digits = s.replace(/[^0-9#*]/g, '');
  if (digits.length < 10 || /^8[012]/.test(digits)) return digits;
  if (digits.startsWith('00')) return digits.slice(2);
  if (digits.startsWith('011')) return digits.slice(3);
  if (digits.startsWith('8')) return `7${digits.slice(1)}`;
  if (digits.startsWith('0')) return digits.slice(1);
  return digits;
}

function stripOutsidePrefix(digits: string, rules: PhoneRules): string {
  const prefixes = [...rules.outsidePrefixes].sort((a, b) => b.length - a.length);
  for (const p of prefixes) {
    // Only when what remains is still a whole number, so a national number that merely starts with the
    // prefix digit is left alone.
    if (p && digits.startsWith(p) && digits.length - p.length >= rules.nationalLength) return digits.slice(p.length);
  }
  return digits;
}

function applyNationalRule(digits: string, rules: PhoneRules): string {
  const { countryCode, nationalLength, trunkPrefix } = rules;
  if (trunkPrefix && digits.length === trunkPrefix.length + nationalLength && digits.startsWith(trunkPrefix)) {
    return countryCode + digits.slice(trunkPrefix.length);
  }
  if (digits.length === nationalLength && !(trunkPrefix && digits.startsWith(trunkPrefix))) return countryCode + digits;
  return digits;
}

/** The site's country for libphonenumber: the main country of its calling code (7 → RU, 1 → US, 49 → DE). */
function siteCountry(countryCode: string): CountryCode | undefined {
  return (metadata.country_calling_codes as Record<string, string[] | undefined>)[countryCode]?.[0] as CountryCode | undefined;
}

/** An extension people type after a number in the CRM ("доб. 123", "ext 5", "x12", "#123"): not part of the number. */
const EXTENSION = /\s*(?:доб\.?|ext\.?|extension|x|#)\s*\d{1,6}\s*$/i;

/**
 * The caller's number in E.164, by libphonenumber-js (the dial plans of every country: trunk prefixes, 8-10 and 00,
 * "+49 (0)30", variable-length numbers) on top of our site rules (outside-line prefixes of CUCM/UCCX, the default
 * country). Numbers libphonenumber cannot place (short internal numbers, unknown plans) keep the site's own rule.
 */
export function normalisePhone(input: string | undefined | null, rules: PhoneRules): PhoneResult {
  const raw = (input ?? '').trim();
  if (!raw) return { ok: false, reason: 'ani is empty' };
  if (raw.length > MAX_INPUT_LENGTH) return { ok: false, reason: `ani is longer than ${MAX_INPUT_LENGTH} characters` };
  const body = raw.replace(/^tel:/i, '').replace(EXTENSION, '');
  if (!/^\+?[0-9()\-./\s]+$/.test(body)) return { ok: false, reason: 'ani is not a phone number (digits, +, spaces, ()-./ only)' };

  const international = body.startsWith('+');
  // "+49 (0)30 …": the bracketed trunk zero is not dialled after a country code.
  let digits = (international ? body.replace(/\(0\)/, '') : body).replace(/\D/g, '');
  if (!international) digits = stripOutsidePrefix(digits, rules);
  const country = siteCountry(rules.countryCode);
  const parsed = digits.length >= MIN_DIGITS && country ? parsePhoneNumberFromString(international ? `+${digits}` : digits, country) : undefined;
  const canonical = parsed?.isValid() ? parsed.number.slice(1) : duplicateIndexForm(international ? `+${digits}` : applyNationalRule(digits, rules));

  if (canonical.length < MIN_DIGITS) return { ok: false, reason: `ani has fewer than ${MIN_DIGITS} digits` };
  if (canonical.length > MAX_DIGITS) return { ok: false, reason: `ani has more than ${MAX_DIGITS} digits` };

  const variants = [`+${canonical}`];
  // The national number as a CRM user of the site's country types it (without trunk prefix: "(912) 345-67-89").
  const national = parsed?.isValid()
    ? parsed.countryCallingCode === rules.countryCode
      ? parsed.nationalNumber
      : ''
    : canonical.startsWith(rules.countryCode) && canonical.length - rules.countryCode.length === rules.nationalLength
      ? canonical.slice(rules.countryCode.length)
      : '';
  if (national) variants.push(national);
  return { ok: true, phone: { digits: canonical, e164: `+${canonical}`, variants } };
}
