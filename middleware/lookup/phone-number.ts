/**
 * Caller numbers normalised the way Bitrix24's duplicate index does (main module NormalizePhone, see
 * reference bitrix24.md §3.3), after our own site rules (outside-line prefix, national numbers).
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
  /** Values that match this caller in the duplicate index (canonical, and national form). */
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

export function normalisePhone(input: string | undefined | null, rules: PhoneRules): PhoneResult {
  const raw = (input ?? '').trim();
  if (!raw) return { ok: false, reason: 'ani is empty' };
  if (raw.length > MAX_INPUT_LENGTH) return { ok: false, reason: `ani is longer than ${MAX_INPUT_LENGTH} characters` };
  const body = raw.replace(/^tel:/i, '');
  if (!/^\+?[0-9()\-.\s]+$/.test(body)) return { ok: false, reason: 'ani is not a phone number (digits, +, spaces, ()-. only)' };

  const international = body.startsWith('+');
  let digits = body.replace(/\D/g, '');
  if (!international) digits = applyNationalRule(stripOutsidePrefix(digits, rules), rules);
  const canonical = duplicateIndexForm(international ? `+${digits}` : digits);

  if (canonical.length < MIN_DIGITS) return { ok: false, reason: `ani has fewer than ${MIN_DIGITS} digits` };
  if (canonical.length > MAX_DIGITS) return { ok: false, reason: `ani has more than ${MAX_DIGITS} digits` };

  const variants = [canonical];
  const national = canonical.startsWith(rules.countryCode) ? canonical.slice(rules.countryCode.length) : '';
  if (national.length === rules.nationalLength) variants.push(national);
  return { ok: true, phone: { digits: canonical, e164: `+${canonical}`, variants } };
}
