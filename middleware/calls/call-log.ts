import moment from 'moment-timezone';
import type { AdminNotices } from '../bitrix24/admin-notices';
import type { CrmDirectory } from '../bitrix24/crm-directory';
import { Bitrix24Error } from '../bitrix24/errors';
import type { Bitrix24Client } from '../bitrix24/rest-client';
import { candidates, type CrmEntityType } from '../lookup/caller-match';
import { normalisePhone, type PhoneRules } from '../lookup/phone-number';
import type { Handler, Outbox } from '../outbox';
import type { Store } from '../store';
import { callOutcome, mergeRecords, type CallRecord } from './call-record';
import { NamedError } from '../../protocol/named-error';

/**
 * The outbox jobs that put an agent's calls into Bitrix24 (b24restdocs: api-reference/telephony/telephony-external-call-register.md and -finish.md): register when the
 * call starts (a unique EXTERNAL_CALL_ID per dialog, so a second call within 30 minutes never shares a CALL_ID),
 * finish when it ends, each exactly once across retries and restarts. A click-to-dial call is already registered by
 * Bitrix24: only its finish is ours.
 */
export const REGISTER_CALL = 'call.register';
export const FINISH_CALL = 'call.finish';

export const registerKey = (agentId: string, dialogId: string) => `call-register:${agentId}:${dialogId}`;
export const finishKey = (agentId: string, dialogId: string) => `call-finish:${agentId}:${dialogId}`;

export interface RegisterJob {
  agentId: string;
  extension: string;
  record: CallRecord;
}

export interface FinishJob {
  agentId: string;
  dialogId: string;
  /** Set for click-to-dial calls: Bitrix24's CALL_ID and the user who clicked. */
  click: { callId: string; userId: number } | null;
  outcome: { statusCode: string; duration: number };
}

type Registered = { callId: string; userId: number } | { skipped: string };

const REF = /^(CONTACT|LEAD|COMPANY):(\d{1,12})$/;

/**
 * Finishes a call once: a retry after a crash may find it finished already, which Bitrix24 reports as
 * "Call is not found" (with an empty error code).
 */
export async function finishOnce(client: Bitrix24Client, params: Record<string, unknown>, previousAttempts: number): Promise<void> {
  try {
    await client.call('telephony.externalCall.finish', params);
  } catch (err) {
    if (!(previousAttempts > 0 && /Call is not found/.test((err as Error).message))) throw err;
  }
}

/** Which Bitrix24 user is behind an extension: the configured overrides first, else UF_PHONE_INNER. */
export function agentUsers(directory: CrmDirectory, overrides: Record<number, string>): (extension: string) => Promise<number | null> {
  const byExtension = new Map(Object.entries(overrides).map(([user, ext]) => [ext, Number(user)]));
  return async (extension) => byExtension.get(extension) ?? directory.userByExtension(extension);
}

export function registerCallHandler(deps: {
  client: Bitrix24Client;
  store: Store;
  directory: CrmDirectory;
  userFor: (extension: string) => Promise<number | null>;
  rules: PhoneRules;
  line: { number: string; showCard: boolean };
  notices?: AdminNotices;
}): Handler {
  return async ({ payload }): Promise<Registered> => {
    const { agentId, extension, record } = payload as RegisterJob;
    const userId = await deps.userFor(extension);
    if (userId === null) return { skipped: `no active Bitrix24 user has the internal number ${extension}` };
    const phone = normalisePhone(record.number, deps.rules);
    let entity: { type: CrmEntityType; id: number } | null = null;
    const ref = REF.exec(record.crmRef ?? '');
    if (ref) entity = { type: ref[1] as CrmEntityType, id: Number(ref[2]) };
    else if (phone.ok) entity = candidates(await deps.directory.findByPhone(phone.phone.variants))[0] ?? null;
    const r = await deps.client
      .call<{ CALL_ID?: string; LEAD_CREATION_ERROR?: unknown }>('telephony.externalCall.register', {
        USER_ID: userId,
        PHONE_NUMBER: phone.ok ? phone.phone.e164 : record.number,
        TYPE: record.direction === 'inbound' ? 2 : 1,
        CALL_START_DATE: moment(record.startedAt).utc().format('YYYY-MM-DDTHH:mm:ssZ'),
        // Inbound unknown callers get their lead from the UCCX lookup (owned by the unprocessed user): never a second one.
        CRM_CREATE: entity || record.direction === 'inbound' ? 0 : 1,
        ...(entity ? { CRM_ENTITY_TYPE: entity.type, CRM_ENTITY_ID: entity.id } : {}),
        SHOW: deps.line.showCard && record.direction === 'inbound' ? 1 : 0,
        LINE_NUMBER: deps.line.number,
        // Unique per dialog and start (Finesse may reuse dialog ids after a restart).
        EXTERNAL_CALL_ID: `finesse-${agentId}-${record.dialogId}-${record.startedAt}`,
      })
      .catch((err: unknown) => {
        // A webhook that Bitrix24 does not let register calls (b24restdocs, telephony-external-call-register.md: WRONG_AUTH_TYPE outside an application's context): no retry will change it.
        if (err instanceof Bitrix24Error && err.code === 'WRONG_AUTH_TYPE') return { skipped: `calls cannot be logged: ${err.message} (install the application)` } as const;
        throw err;
      });
    if ('skipped' in r) return r;
    if (!r?.CALL_ID) throw new Error('telephony.externalCall.register returned no CALL_ID');
    // The call is registered, but the lead we asked for (CRM_CREATE) was refused: an administrator must allow it.
    if (typeof r.LEAD_CREATION_ERROR === 'string' && r.LEAD_CREATION_ERROR) await deps.notices?.raise('lead_creation_disabled', 'telephony.externalCall.register', r.LEAD_CREATION_ERROR);
    else if (!entity && record.direction !== 'inbound') await deps.notices?.clear('lead_creation_disabled');
    // Bitrix24 may hand back a CALL_ID another of our calls still holds open (two overlapping calls of one number):
    // finishing both on it would merge them, one lost. This call waits, and registers again once the other is finished.
    await holdCallId(deps.store, r.CALL_ID, registerKey(agentId, record.dialogId));
    return { callId: r.CALL_ID, userId };
  };
}

/** Which of our calls holds a Bitrix24 CALL_ID until its finish (see registerCallHandler). */
export const callIdOwnerKey = (callId: string) => `call.callid.${callId}`;

/**
 * Holds a CALL_ID for the job `me` until its finish (`releaseCallId`); throws ReusedCallIdError when another of our
 * calls holds it: that call's finish frees it, and this job registers again then (a CALL_ID of its own).
 */
export async function holdCallId(store: Store, callId: string, me: string): Promise<void> {
  const owner = callIdOwnerKey(callId);
  if (await store.claimKv(owner, { job: me, at: Date.now() })) return;
  const held = await store.getKv<{ job: string }>(owner);
  if (held && held.job !== me) throw new ReusedCallIdError(`Bitrix24 handed back CALL_ID ${callId}, which another call (${held.job}) still holds open: registered again after that call is finished`);
}

export const releaseCallId = (store: Store, callId: string) => store.deleteKv(callIdOwnerKey(callId));

/** A retry, not a failure: the CALL_ID comes free when the other call is finished. */
export class ReusedCallIdError extends NamedError {}

export function finishCallHandler(deps: { client: Bitrix24Client; outbox: () => Outbox; store: Store }): Handler {
  return async ({ payload, previousAttempts }) => {
    const job = payload as FinishJob;
    // What all reports of the dialog say by now (another tab may have seen the answer earlier than the one whose end
    // queued this job): the outcome is computed when it is delivered, not when it was queued.
    const merged = await deps.store.getKv<CallRecord>(recordKey(job.agentId, job.dialogId));
    const outcome = merged && merged.endedAt !== null ? callOutcome(merged) : job.outcome;
    let call = job.click;
    if (!call) {
      const outbox = deps.outbox();
      const key = registerKey(job.agentId, job.dialogId);
      let reg = await outbox.get(key);
      if (reg?.state === 'pending') reg = await outbox.deliver(reg.id);
      if (!reg || reg.state !== 'done') throw new Error(`the call is not registered yet (${reg?.lastError ?? 'no register job'})`);
      const result = reg.result as Registered;
      if ('skipped' in result) return result;
      call = result;
    }
    await finishOnce(deps.client, { CALL_ID: call.callId, USER_ID: call.userId, DURATION: outcome.duration, STATUS_CODE: outcome.statusCode }, previousAttempts);
    await releaseCallId(deps.store, call.callId); // free for a call Bitrix24 gave the same CALL_ID meanwhile
    return { callId: call.callId, ...outcome };
  };
}

/**
 * A click waiting for its dialog, one per click of an extension (a double click must not hide the first): the next
 * outbound dialog of the agent to this address is the earliest such click's call.
 */
export interface PendingClick {
  callId: string;
  userId: number;
  toAddress: string;
  at: number;
}

const CLICK_WINDOW_MS = 120_000;
export const pendingClickKey = (extension: string, callId = '') => `click.pending.${extension}.${callId}`;
/** Clicks dialled whose dialog no gadget has reported yet (cleared when one does). */
export const dialledKey = (callId: string) => `click.dialled.${callId}`;
const clickOfDialogKey = (agentId: string, dialogId: string) => `click.dialog.${agentId}.${dialogId}`;
/** What the reports of one dialog told so far (merged), so a late or partial report never shortens a call. */
const recordKey = (agentId: string, dialogId: string) => `call.record.${agentId}.${dialogId}`;
export const CALL_MARK_PREFIXES = ['click.seen.', 'callback.seen.', 'click.dialog.', 'click.fail.progress.', 'call.record.', 'click.pending.', 'call.callid.'];

/** Reports from the gadget → register/finish jobs, deduplicated per (agent, dialog) across tabs and repeats. */
export class CallJournal {
  constructor(
    private readonly store: Store,
    private readonly outbox: Outbox,
    /**
     * How long a finish waits after the latest report of the call's end: the agent's other tabs report the same
     * dialog within moments, and a finish sent before the one that saw the answer first would shorten the call.
     */
    private readonly settleMs = 0,
  ) {}

  /** The click this outbound dialog answers, claimed once and remembered (restart-safe). */
  private async clickOf(agentId: string, extension: string, r: CallRecord): Promise<PendingClick | null> {
    const known = await this.store.getKv<PendingClick>(clickOfDialogKey(agentId, r.dialogId));
    if (known || r.direction !== 'outbound') return known;
    const pending = (await this.store.kvWithPrefix<PendingClick>(pendingClickKey(extension)))
      .map((row) => row.value)
      .filter((c) => c.toAddress === r.number.trim() && Math.abs(r.startedAt - c.at) <= CLICK_WINDOW_MS)
      .sort((a, b) => a.at - b.at)[0];
    if (!pending) return null;
    await this.store.deleteKv(pendingClickKey(extension, pending.callId));
    await this.store.deleteKv(dialledKey(pending.callId)); // reported: its end will finish it
    await this.store.setKv(clickOfDialogKey(agentId, r.dialogId), pending);
    return pending;
  }

  /**
   * One agent's reports one at a time, on every node (his tabs may reach two nodes): the merge of a dialog's
   * reports and the claim of a click are read-then-write.
   */
  report(agentId: string, extension: string, report: CallRecord): Promise<void> {
    return this.store.exclusive(`call.report.${agentId}`, () => this.record(agentId, extension, report));
  }

  private async record(agentId: string, extension: string, report: CallRecord): Promise<void> {
    const key = recordKey(agentId, report.dialogId);
    const known = await this.store.getKv<CallRecord>(key);
    if (report.partial && !known) return; // an end nobody saw begin: no call of ours to close
    const r = mergeRecords(known, report);
    await this.store.setKv(key, r);
    const click = await this.clickOf(agentId, extension, r);
    // A call that never left the switch is a customer call only when it is a click's (a dial that failed early).
    if (!click && r.inside) return;
    if (!click) await this.outbox.enqueue(registerKey(agentId, r.dialogId), REGISTER_CALL, { agentId, extension, record: r } satisfies RegisterJob);
    if (r.endedAt === null) return;
    const job: FinishJob = { agentId, dialogId: r.dialogId, click: click && { callId: click.callId, userId: click.userId }, outcome: callOutcome(r) };
    await this.outbox.enqueue(finishKey(agentId, r.dialogId), FINISH_CALL, job, { delayMs: this.settleMs });
  }
}
