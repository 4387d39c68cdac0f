import type { CrmDirectory } from '../bitrix24/crm-directory';
import type { Attempt, Handler } from '../outbox';
import { candidates, type CrmEntityType } from './caller-match';

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

export function ensureLeadHandler(directory: CrmDirectory, unprocessedUserId: number): Handler {
  return async ({ payload, previousAttempts }: Attempt): Promise<EnsureLeadResult> => {
    const p = payload as EnsureLeadPayload;
    if (previousAttempts > 0 || !p.searched) {
      const existing = candidates(await directory.findByPhone(p.variants))[0];
      if (existing) return { type: existing.type, id: existing.id, created: false };
    }
    const id = await directory.addLead({ title: p.title, e164: p.e164, responsibleId: unprocessedUserId, originId: p.callId });
    return { type: 'LEAD', id, created: true };
  };
}
