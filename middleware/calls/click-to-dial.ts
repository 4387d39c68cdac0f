import type { CrmDirectory } from '../bitrix24/crm-directory';
import type { Proof } from '../bitrix24/portal-check';
import type { Bitrix24Client } from '../bitrix24/rest-client';
import type { Logger } from '../log';
import type { Handler, Outbox } from '../outbox';
import type { Store } from '../store';
import type { AgentChannels, DialOutcome } from './agent-channels';
import { dialledKey, finishOnce, pendingClickKey, type PendingClick } from './call-log';
import { dialString, type DialRules } from './dial-string';
import { candidates } from '../lookup/caller-match';
import { normalisePhone } from '../lookup/phone-number';

/**
 * ONEXTERNALCALLSTART → the agent's gadget → Finesse MAKE_CALL (b24restdocs: api-reference/telephony/events/on-external-call-start.md). Bitrix24 has already
 * registered the call, so we only finish it: on success when the dialog ends (CallJournal), on failure at once, with
 * the reason told to the user in Bitrix24 — a click never ends in silence. A repeated delivery of a CALL_ID does
 * nothing. Longer than our usual file on purpose: the click's whole path and its user-facing words (ru, en) in one place.
 */
export interface ExternalCallStart {
  callId: string;
  userId: number;
  phone: string;
  phoneInternational: string;
}

type Failure = 'no_extension' | 'bad_number' | 'unverified' | Exclude<DialOutcome, { ok: true }>['code'];

/** Bitrix24 STATUS_CODE for each way a click can fail. */
const STATUS: Record<Failure, string> = {
  no_extension: '403',
  bad_number: '404',
  unverified: '503',
  no_gadget: '480',
  timeout: '480',
  interrupted: '480',
  agent_busy: '486',
  finesse_refused: '603',
};

type Lang = 'ru' | 'en';
const MESSAGES: Record<Lang, Record<Failure, string>> = {
  ru: {
    no_extension: 'у вашего пользователя нет внутреннего номера агента Finesse (Телефония → Пользователи телефонии)',
    bad_number: 'номер не удалось набрать: {detail}',
    unverified: 'Битрикс24 был перегружен и не подтвердил нажатие вовремя ({detail}); повторите звонок',
    no_gadget: 'гаджет Bitrix24 в рабочем столе Finesse не открыт для внутреннего номера {ext}; откройте Finesse и повторите',
    timeout: 'гаджет Finesse не ответил вовремя; проверьте, что рабочий стол Finesse открыт, и повторите',
    interrupted: 'коннектор перезапускался во время набора; повторите звонок',
    agent_busy: 'агент сейчас не может набирать номер ({detail})',
    finesse_refused: 'Finesse отклонил вызов: {detail}',
  },
  en: {
    no_extension: 'your user has no Finesse agent extension (Telephony → Telephony users)',
    bad_number: 'the number could not be dialled: {detail}',
    unverified: 'Bitrix24 was too busy to confirm the click in time ({detail}); please call again',
    no_gadget: 'the Bitrix24 gadget is not open in the Finesse desktop for extension {ext}; open Finesse and try again',
    timeout: 'the Finesse gadget did not answer in time; check that the Finesse desktop is open and try again',
    interrupted: 'the connector restarted while dialling; please call again',
    agent_busy: 'the agent cannot dial now ({detail})',
    finesse_refused: 'Finesse refused the call: {detail}',
  },
};
/** Finesse states as the agent's desktop names them, for the message to the user. */
const STATE_NAMES: Record<Lang, Record<string, string>> = {
  ru: {
    '': 'не вошёл в Finesse',
    READY: '«Готов»: для исходящего звонка переведите его в «Не готов»',
    TALKING: 'разговаривает',
    HOLD: 'держит звонок на удержании',
    RESERVED: 'ему поступает звонок',
    WORK: 'завершает предыдущий звонок',
    LOGOUT: 'вышел из Finesse',
  },
  en: {
    '': 'not signed in to Finesse',
    READY: 'Ready: set Not Ready to dial',
    TALKING: 'talking',
    HOLD: 'holding a call',
    RESERVED: 'a call is being delivered',
    WORK: 'wrapping up a call',
    LOGOUT: 'signed out of Finesse',
  },
};

const PREFIX: Record<Lang, string> = { ru: 'Звонок на {phone} не состоялся: ', en: 'The call to {phone} was not placed: ' };

export const FAIL_CLICK = 'click.fail';

interface FailJob {
  callId: string;
  userId: number;
  statusCode: string;
  message: string;
  /** false: close the call without a notification (it was dialled; only its end never came). */
  notify?: boolean;
}

const UNREPORTED: Record<Lang, string> = {
  ru: 'Звонок на {phone} был набран, но гаджет Finesse не сообщил о нём: длительность неизвестна',
  en: 'The call to {phone} was dialled but no Finesse gadget reported it: its duration is unknown',
};
/** A dialled call not seen for this long is closed (a call itself ends long before). */
export const UNREPORTED_AFTER_MS = 4 * 3_600_000;

const seenKey = (callId: string) => `click.seen.${callId}`;
/** Clicks one process holds while the portal cannot vouch for them (a 30-s window at a click a second is 30). */
export const MAX_HELD = 200;
/** The dedupe mark of a delivery; `settled` once it was dialled or its failure queued (a crash in between is found). */
interface Seen {
  at: number;
  click: ExternalCallStart;
  settled: boolean;
}

export class ClickToDial {
  constructor(
    private readonly d: {
      store: Store;
      outbox: Outbox;
      channels: AgentChannels;
      directory: CrmDirectory;
      /** The clicking user's extension (UF_PHONE_INNER), cached. */
      userExtension: (userId: number) => Promise<string | null>;
      agentExtensions: Record<number, string>;
      rules: DialRules;
      whenReady: 'switch' | 'refuse';
      reasonCodeId: number | null;
      resultTimeoutMs: number;
      lang: Lang;
      log: Logger;
      client: Bitrix24Client;
      unprocessedUserId: number;
      lineNumber: string;
      onOutcome?: (outcome: string, seconds: number, click: ExternalCallStart) => void;
    },
  ) {}

  /**
   * OnExternalCallBackStart (a CRM callback form): no call exists yet, so we register one (TYPE 4) for the record's
   * responsible (or the "unprocessed" user) and dial it from that user's agent like a click.
   */
  async callback(c: { phone: string; deliveryId: string }): Promise<'dialled' | 'failed' | 'repeated'> {
    if (!(await this.d.store.claimKv(`callback.seen.${c.deliveryId}`, { at: Date.now() }))) return 'repeated';
    if (!dialString(c.phone, this.d.rules).ok) {
      this.d.log.warn({ deliveryId: c.deliveryId }, 'callback request without a usable number ignored');
      return 'failed';
    }
    const n = normalisePhone(c.phone, this.d.rules.phone);
    const best = n.ok ? candidates(await this.d.directory.findByPhone(n.phone.variants).catch(() => []))[0] : undefined;
    const userId = best?.responsibleId ?? this.d.unprocessedUserId;
    const r = await this.d.client.call<{ CALL_ID?: string }>('telephony.externalCall.register', {
      USER_ID: userId,
      PHONE_NUMBER: c.phone,
      TYPE: 4,
      CRM_CREATE: best ? 0 : 1,
      ...(best ? { CRM_ENTITY_TYPE: best.type, CRM_ENTITY_ID: best.id } : {}),
      LINE_NUMBER: this.d.lineNumber,
      EXTERNAL_CALL_ID: `callback-${c.deliveryId}`,
    });
    if (!r?.CALL_ID) throw new Error('telephony.externalCall.register returned no CALL_ID');
    return this.handle({ callId: r.CALL_ID, userId, phone: c.phone, phoneInternational: '' });
  }

  /**
   * Dialled clicks whose call no gadget ever reported (the desktop was closed right after dialling) would stay open
   * in Bitrix24: after UNREPORTED_AFTER_MS they are closed, without a notification. Returns how many.
   */
  async closeUnreported(now = Date.now()): Promise<number> {
    let n = 0;
    for (const row of await this.d.store.kvWithPrefix<{ click: ExternalCallStart; at: number }>(dialledKey(''))) {
      const { click, at } = row.value;
      if (now - at < UNREPORTED_AFTER_MS) continue;
      const message = UNREPORTED[this.d.lang].replace('{phone}', click.phone || click.phoneInternational);
      await this.d.outbox.enqueue(`click-fail:${click.callId}`, FAIL_CLICK, { callId: click.callId, userId: click.userId, statusCode: 'OTHER', message, notify: false } satisfies FailJob);
      await this.d.store.deleteKv(row.key);
      n += 1;
    }
    return n;
  }

  /**
   * At start: clicks a previous run took but never settled (it died while waiting for the gadget; a graceful stop
   * fails them itself) are failed visibly now, so no click stays open in Bitrix24. With several nodes only this
   * node's own clicks count (another node's may be waiting for its gadget right now); a killed node's are failed
   * by whichever node starts next on its host, or by the hourly sweep once they are older than the dial timeout.
   */
  async recover(olderThanMs = 0, now = Date.now()): Promise<number> {
    let n = 0;
    for (const { value: seen } of await this.d.store.kvWithPrefix<Seen>(seenKey(''))) {
      if (seen.settled || !seen.click) continue;
      if (olderThanMs > 0 && now - seen.at < olderThanMs) continue;
      await this.fail(seen.click, 'interrupted', '', '');
      await this.d.store.setKv(seenKey(seen.click.callId), { ...seen, settled: true });
      n += 1;
    }
    return n;
  }

  /** Clicks held in this process while the portal cannot vouch for them yet. */
  private held = 0;

  get heldCount(): number {
    return this.held;
  }

  /** Handles one delivery; resolves when the click is dialled or failed visibly. */
  async handle(e: ExternalCallStart): Promise<'dialled' | 'failed' | 'repeated'> {
    const t0 = performance.now();
    const outcome = (await this.claim(e)) ? await this.process(e) : 'repeated';
    return this.settle(e, outcome, t0);
  }

  /**
   * A delivery the portal could not vouch for yet (busy, failing, out of reach — not a "no"): its mark is claimed
   * now (a restart fails it visibly, see recover) and `prove` asks the portal until the click's useful life ends.
   * Proved → dialled as any click; refused by the portal → dropped as forged (logged); no answer in time → the call
   * is finished in Bitrix24 with the reason and the user told. At most MAX_HELD wait at once; more fail at once.
   */
  async handleUnproven(e: ExternalCallStart, prove: () => Promise<Proof>): Promise<'dialled' | 'failed' | 'repeated' | 'refused'> {
    const t0 = performance.now();
    if (!(await this.claim(e))) return this.settle(e, 'repeated', t0);
    if (this.held >= MAX_HELD) return this.settle(e, await this.fail(e, 'unverified', '', `${MAX_HELD} clicks already waiting`), t0);
    this.held += 1;
    let proof: Proof;
    try {
      proof = await prove();
    } finally {
      this.held -= 1;
    }
    if (proof.kind === 'unknown') return this.settle(e, await this.fail(e, 'unverified', '', proof.why), t0);
    if (proof.kind === 'refused' || proof.userId !== e.userId) {
      const why = proof.kind === 'refused' ? proof.why : "the token is another user's";
      this.d.log.warn({ callId: e.callId, why }, 'Bitrix24 event refused: the portal did not confirm the click');
      await this.d.store.setKv(seenKey(e.callId), { at: Date.now(), click: e, settled: true } satisfies Seen);
      this.d.onOutcome?.('refused', (performance.now() - t0) / 1000, e);
      return 'refused';
    }
    this.d.log.info({ callId: e.callId, waitedMs: Math.round(performance.now() - t0) }, 'click-to-dial: confirmed by the portal after waiting');
    return this.settle(e, await this.process(e), t0);
  }

  /** The delivery's dedupe mark: false when this CALL_ID was taken already. */
  private async claim(e: ExternalCallStart): Promise<boolean> {
    if (await this.d.store.claimKv(seenKey(e.callId), { at: Date.now(), click: e, settled: false } satisfies Seen)) return true;
    this.d.log.info({ callId: e.callId }, 'click-to-dial: repeated delivery ignored');
    return false;
  }

  private async settle(e: ExternalCallStart, outcome: 'dialled' | 'repeated' | Failure, t0: number): Promise<'dialled' | 'failed' | 'repeated'> {
    if (outcome !== 'repeated') await this.d.store.setKv(seenKey(e.callId), { at: Date.now(), click: e, settled: true } satisfies Seen);
    this.d.onOutcome?.(outcome, (performance.now() - t0) / 1000, e);
    return outcome === 'dialled' || outcome === 'repeated' ? outcome : 'failed';
  }

  private async process(e: ExternalCallStart): Promise<'dialled' | Failure> {
    const number = e.phoneInternational || e.phone;
    let extension: string | null = this.d.agentExtensions[e.userId] ?? null;
    if (!extension) {
      try {
        extension = await this.d.userExtension(e.userId);
      } catch (err) {
        this.d.log.warn({ callId: e.callId, err }, 'click-to-dial: user lookup failed');
      }
    }
    if (!extension) return await this.fail(e, 'no_extension', '', '');
    const dial = dialString(number, this.d.rules);
    if (!dial.ok) return await this.fail(e, 'bad_number', extension, dial.reason);
    const pending: PendingClick = { callId: e.callId, userId: e.userId, toAddress: dial.toAddress, at: Date.now() };
    // Noted before dialling: the dialog's first event may reach us before the gadget's answer does.
    await this.d.store.setKv(pendingClickKey(extension, e.callId), pending);
    const outcome = await this.d.channels.dial(extension, { callId: e.callId, toAddress: dial.toAddress, whenReady: this.d.whenReady, reasonCodeId: this.d.reasonCodeId }, this.d.resultTimeoutMs);
    if (outcome.ok) {
      this.d.log.info({ callId: e.callId, extension }, 'click-to-dial: MAKE_CALL accepted by Finesse');
      await this.d.store.setKv(dialledKey(e.callId), { click: e, at: Date.now() });
      return 'dialled';
    }
    await this.d.store.deleteKv(pendingClickKey(extension, e.callId)); // only this click's: an earlier one may be ringing
    const detail = outcome.state !== undefined ? (STATE_NAMES[this.d.lang][outcome.state] ?? outcome.state) : outcome.reason;
    return await this.fail(e, outcome.code, extension, detail);
  }

  private async fail(e: ExternalCallStart, code: Failure, ext: string, detail: string): Promise<Failure> {
    const lang = this.d.lang;
    const message = (PREFIX[lang] + MESSAGES[lang][code])
      .replace('{phone}', e.phone || e.phoneInternational)
      .replace('{ext}', ext)
      .replace('{detail}', detail);
    this.d.log.warn({ callId: e.callId, userId: e.userId, code, detail }, 'click-to-dial failed');
    await this.d.outbox.enqueue(`click-fail:${e.callId}`, FAIL_CLICK, { callId: e.callId, userId: e.userId, statusCode: STATUS[code], message } satisfies FailJob);
    return code;
  }
}

/** Finishes a failed click with its status and tells the user why (Bitrix24 notification), each once. */
export function failClickHandler(deps: { client: Bitrix24Client; store: Store }): Handler {
  return async ({ payload, previousAttempts }) => {
    const job = payload as FailJob;
    const key = `click.fail.progress.${job.callId}`;
    const progress = (await deps.store.getKv<{ finished?: boolean; notified?: boolean }>(key)) ?? {};
    if (!progress.finished) {
      await finishOnce(deps.client, { CALL_ID: job.callId, USER_ID: job.userId, DURATION: 0, STATUS_CODE: job.statusCode, FAILED_REASON: job.message }, previousAttempts);
      progress.finished = true;
      await deps.store.setKv(key, progress);
    }
    if (!progress.notified && job.notify !== false) {
      await deps.client.call('im.notify.system.add', { USER_ID: job.userId, MESSAGE: job.message });
      progress.notified = true;
      await deps.store.setKv(key, progress);
    }
    return { callId: job.callId, statusCode: job.statusCode };
  };
}
