import { Builder } from 'xml2js';
import type { LookupJson } from '../../protocol/agent-api';
import type { CrmEntityType } from './caller-match';

/**
 * The answer to "who owns this caller", in the flat shape the UCCX script reads with one XPath per field
 * (docs/uccx.md "The UCCX contract"). Pure rendering.
 */
export type LookupStatus = 'found' | 'created' | 'pending' | 'degraded' | 'internal';

export interface LookupAnswer {
  route: 'agent' | 'queue';
  extension: string;
  entityType: CrmEntityType | '';
  entityId: number | null;
  status: LookupStatus;
  responsibleId: number | null;
  /** The caller in E.164 form. */
  phone: string;
  /** Why the answer is degraded, as a code (not shown to callers). */
  reason: string;
  /** Every record of the winning type, best first: more than one means the agent should pick (JSON only). */
  matches: Array<{ entityType: CrmEntityType; entityId: number; name: string }>;
}

export function queueAnswer(phone: string, status: LookupStatus, reason = ''): LookupAnswer {
  return { route: 'queue', extension: '', entityType: '', entityId: null, status, responsibleId: null, phone, reason, matches: [] };
}

/** The value for Set Enterprise Call Info → PeripheralVariable2 (and the gadget): "CONTACT:42" or "". */
export function crmReference(a: LookupAnswer): string {
  return a.entityType && a.entityId !== null ? `${a.entityType}:${a.entityId}` : '';
}

const builder = new Builder({ rootName: 'lookup', renderOpts: { pretty: false }, xmldec: { version: '1.0', encoding: 'UTF-8' } });

/** Characters XML 1.0 cannot carry at all (controls, lone surrogates, U+FFFE/F): dropped, so no answer ever fails. */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const xmlText = (v: string) => v.replace(NOT_XML, '');

export function renderXml(a: LookupAnswer): string {
  // Values come from Bitrix24 (an extension is whatever a user typed into UF_PHONE_INNER): the builder escapes
  // markup, and text XML cannot hold at all is dropped.
  return builder.buildObject({
    route: a.route,
    extension: xmlText(a.extension),
    entityType: xmlText(a.entityType),
    entityId: a.entityId === null ? '' : String(a.entityId),
    crmRef: xmlText(crmReference(a)),
    status: a.status,
    responsibleId: a.responsibleId === null ? '' : String(a.responsibleId),
    phone: xmlText(a.phone),
    reason: xmlText(a.reason),
  });
}

export function renderJson(a: LookupAnswer): LookupJson {
  return { ...a, crmRef: crmReference(a) };
}
