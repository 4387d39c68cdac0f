import type { CrmDirectory } from '../bitrix24/crm-directory';
import { Bitrix24Error, DeadlineError, ServerError, TransportError } from '../bitrix24/errors';
import type { Attempt, Handler } from '../outbox';
import type { Store } from '../store';
import { candidates, type CrmEntityType } from './caller-match';
import { NamedError } from '../../protocol/named-error';

/**
 * The outbox job that makes sure an unknown caller has a lead: exactly one, owned by the "unprocessed" user.
 * A retry (or a job queued when the search never answered) looks the number up first, so a lead that an earlier,
 * unanswered try did create — or one somebody added meanwhile — is found instead of doubled.
 */
export const ENSURE_LEAD = 'lead.ensure';

export interface EnsureLeadPayload {
  digits: string;
  e164: string;
  variants: string[];
  callId: string | null;
  title: string;
  /** The lookup already searched and found nothing just now. */
  searched: boolean;
}

export interface EnsureLeadResult {
  type: CrmEntityType;
  id: number;
  created: boolean;
}

export const leadKey = (digits: string) => `lead:${digits}`;

/** The marker of the lead a job creates (ORIGIN_ID): the UCCX call, else the number. */
export const leadOrigin = (p: Pick<EnsureLeadPayload, 'callId' | 'digits'>) => p.callId ?? `fb24-${p.digits}`;

/**
 * A `crm.lead.add` whose answer never came (timeout, a cut connection, a crash) may still be running at Bitrix24:
 * its outcome is unknown. No retry sends another before it is known — the job waits until the portal must have
 * finished (`settleMs` after the try), then looks for the lead by its ORIGIN_ID marker and by the number. The
 * mark is in the store, so a restart waits too.
 */
export interface EnsureLeadDeps {
  directory: CrmDirectory;
  store: Store;
  unprocessedUserId: number;
  settleMs: number;
  now?: () => number;
}

const unknownKey = (digits: string) => `lead.unknown.${digits}`;

export class OutcomeUnknown extends NamedError {}

export function ensureLeadHandler(d: EnsureLeadDeps): Handler {
  const now = d.now ?? Date.now;
  return async ({ payload, previousAttempts }: Attempt): Promise<EnsureLeadResult> => {
    const p = payload as EnsureLeadPayload;
    const unknown = await d.store.getKv<{ at: number }>(unknownKey(p.digits));
    if (unknown && now() - unknown.at < d.settleMs) {
      throw new OutcomeUnknown(`an earlier crm.lead.add may still be running at Bitrix24: waiting until ${new Date(unknown.at + d.settleMs).toISOString()} before looking again`);
    }
    if (unknown) {
      const made = await d.directory.leadsByOrigin(leadOrigin(p));
      if (made.length) {
        await d.store.deleteKv(unknownKey(p.digits));
        return { type: 'LEAD', id: Math.min(...made), created: true };
      }
    }
    if (unknown || previousAttempts > 0 || !p.searched) {
      const existing = candidates(await d.directory.findByPhone(p.variants))[0];
      if (existing) {
        await d.store.deleteKv(unknownKey(p.digits));
        return { type: existing.type, id: existing.id, created: false };
      }
    }
    // Marked before sending: if we die before the answer, the next start knows the outcome is unknown.
    await d.store.setKv(unknownKey(p.digits), { at: now() });
    let id: number;
    try {
      id = await d.directory.addLead({ title: p.title, e164: p.e164, responsibleId: d.unprocessedUserId, originId: leadOrigin(p) });
    } catch (err) {
      // A refusal with an answer (an error code from Bitrix24) created nothing: no need to wait.
      if (err instanceof Bitrix24Error && !(err instanceof TransportError) && !(err instanceof DeadlineError) && !(err instanceof ServerError)) await d.store.deleteKv(unknownKey(p.digits));
      else await d.store.setKv(unknownKey(p.digits), { at: now() });
      throw err;
    }
    await d.store.deleteKv(unknownKey(p.digits));
    return { type: 'LEAD', id, created: true };
  };
}
