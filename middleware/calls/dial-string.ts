import { normalisePhone, type PhoneRules } from '../lookup/phone-number';

/**
 * What the agent's phone must dial for a number clicked in Bitrix24. Finesse passes `toAddress` to CUCM as is
 * (Cisco Finesse developer guide: Dialog — Create a New Dialog (Make a Call)), so the dial plan is ours: a short internal number stays as it is; a domestic number is
 * dialled with the trunk prefix, a foreign one with the international prefix; the outside-line prefix goes first.
 * Pure: the rules are data.
 */
export interface DialRules {
  phone: PhoneRules;
  outsidePrefix: string;
  internationalPrefix: string;
}

export type DialString = { ok: true; toAddress: string } | { ok: false; reason: string };

/** Internal extensions are short; anything longer is an outside number. */
const INTERNAL_MAX_DIGITS = 6;

export function dialString(clicked: string, rules: DialRules): DialString {
  // "…;123" / "…#123" is an extension to key in after the call connects, not part of the number.
  const number = clicked.split(/[;#]/)[0]!.trim();
  if (/^\d{1,6}$/.test(number) && number.length <= INTERNAL_MAX_DIGITS) return { ok: true, toAddress: number };
  const n = normalisePhone(number, rules.phone);
  if (!n.ok) return { ok: false, reason: n.reason.replace(/^ani/, 'number') };
  const { countryCode, nationalLength, trunkPrefix } = rules.phone;
  const digits = n.phone.digits;
  const national = digits.startsWith(countryCode) ? digits.slice(countryCode.length) : '';
  const body = national.length === nationalLength ? trunkPrefix + national : rules.internationalPrefix + digits;
  return { ok: true, toAddress: rules.outsidePrefix + body };
}
