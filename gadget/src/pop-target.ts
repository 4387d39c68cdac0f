import { callDirection, DEFAULT_INTERNAL_MAX_DIGITS, looksLikeCustomerNumber, otherParty } from './dialog-facts';
import type { Dialog } from './finesse-update';
import type { LookupJson } from '../../protocol/agent-api';

/**
 * Where a pop goes, decided from the dialog alone when the UCCX script left the CRM record in a call variable
 * (`TYPE:ID`, docs/uccx.md "The UCCX contract"), else after asking the middleware by the caller's number. Pure.
 */
export interface PopConfig {
  /** Bitrix24 portal base URL, e.g. https://company.bitrix24.ru */
  crmBaseUrl: string;
  /** Call variable holding `TYPE:ID` (default callVariable2). */
  entityVariable: string;
  /** Call variable holding the caller's number (default callVariable1); else the dialog's fromAddress. */
  phoneVariable: string;
  /** Sales script for a new caller; placeholders {phone}, {leadId}, {dialogId}. Empty: the new lead's card. */
  scriptUrlTemplate: string;
  /** Numbers this long or shorter are internal (extensions, route points, ports): never a customer's. */
  internalMaxDigits?: number;
}

export type EntityType = 'CONTACT' | 'LEAD' | 'COMPANY' | 'DEAL';

export interface Choice {
  url: string;
  label: string;
}

export type Target =
  | { kind: 'open'; url: string; label: string; entity: { type: EntityType; id: number } | null }
  | { kind: 'pick'; choices: Choice[] }
  | { kind: 'lookup'; phone: string }
  | { kind: 'none'; reason: string };

/** The part of the lookup's JSON answer (protocol/agent-api.ts) a pop needs; `matches` absent in older answers. */
export type LookupAnswer = Pick<LookupJson, 'status' | 'entityType' | 'entityId' | 'phone'> & { matches?: Array<{ entityType: string; entityId: number; name?: string }> };

const REF = /^(CONTACT|LEAD|COMPANY|DEAL):(\d{1,12})$/i;

export function entityUrl(base: string, type: EntityType, id: number): string {
  return `${base.replace(/\/+$/, '')}/crm/${type.toLowerCase()}/details/${id}/`;
}

/**
 * The customer's number: the phone call variable the UCCX script set (inbound) when it is a number at all — a real
 * deployment's script may leave a name such as "Networks1" there —, else the other party of the dialog.
 */
export function customerNumber(d: Dialog, cfg: PopConfig, agentExtension: string): string {
  const internal = cfg.internalMaxDigits ?? DEFAULT_INTERNAL_MAX_DIGITS;
  const fromScript = callDirection(d, agentExtension) === 'inbound' ? (d.callVariables[cfg.phoneVariable] ?? '').trim() : '';
  return fromScript && looksLikeCustomerNumber(fromScript, internal) ? fromScript : otherParty(d, agentExtension, internal);
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(phone|leadId|dialogId)\}/g, (_m, k: string) => encodeURIComponent(values[k] ?? ''));
}

export function targetFromDialog(d: Dialog, cfg: PopConfig, agentExtension: string): Target {
  const ref = REF.exec((d.callVariables[cfg.entityVariable] ?? '').trim());
  if (ref) {
    const type = ref[1]!.toUpperCase() as EntityType;
    const id = Number(ref[2]);
    return { kind: 'open', url: entityUrl(cfg.crmBaseUrl, type, id), label: `${type}:${id}`, entity: { type, id } };
  }
  const phone = customerNumber(d, cfg, agentExtension);
  return phone ? { kind: 'lookup', phone } : { kind: 'none', reason: 'no caller number' };
}

export function targetFromLookup(answer: LookupAnswer, d: Dialog, cfg: PopConfig): Target {
  // One of the contact center's own numbers (the middleware knows its agents' extensions): nothing to open.
  if (answer.status === 'internal') return { kind: 'none', reason: 'internal number' };
  const type = answer.entityType.toUpperCase();
  const id = answer.entityId;
  const newCaller = answer.status !== 'found';
  if (newCaller && cfg.scriptUrlTemplate) {
    const leadId = type === 'LEAD' && id !== null ? String(id) : '';
    return { kind: 'open', url: fill(cfg.scriptUrlTemplate, { phone: answer.phone, leadId, dialogId: d.id }), label: 'script', entity: leadId ? { type: 'LEAD', id: Number(leadId) } : null };
  }
  const several = (answer.matches ?? []).filter((m) => REF.test(`${m.entityType}:${m.entityId}`));
  if (answer.status === 'found' && several.length > 1) {
    return {
      kind: 'pick',
      choices: several.map((m) => ({
        url: entityUrl(cfg.crmBaseUrl, m.entityType.toUpperCase() as EntityType, m.entityId),
        label: m.name ? `${m.name} (${m.entityType.toUpperCase()}:${m.entityId})` : `${m.entityType.toUpperCase()}:${m.entityId}`,
      })),
    };
  }
  if (REF.test(`${type}:${id ?? ''}`) && id !== null) {
    return { kind: 'open', url: entityUrl(cfg.crmBaseUrl, type as EntityType, id), label: `${type}:${id}`, entity: { type: type as EntityType, id } };
  }
  return { kind: 'none', reason: answer.status === 'degraded' ? 'crm_unavailable' : 'lead_pending' };
}
