import type { Bitrix24Client } from './rest-client';

/**
 * What the install sets up in the portal (b24restdocs at apidocs.bitrix24.com: api-reference/events/event-bind.md, api-reference/telephony/telephony-external-line-add.md): the events we handle bound to our
 * handler, our external line, and that line as the portal's default for outgoing calls — a forgotten default line
 * is the first cause of "clicking a number does nothing".
 * Re-running it is harmless: "already bound" and "line already exists" count as done.
 */
/**
 * ONAPPINSTALL is bound too: an application with an interface is installed through its frame, and the frame Bitrix24
 * posts in 2025–26 carries no APPLICATION_TOKEN; the documented source of it is the ONAPPINSTALL delivery that
 * follows BX24.installFinish() (b24restdocs api-reference/events/safe-event-handlers.md, common/events/on-app-install.md).
 */
export const BOUND_EVENTS = ['ONEXTERNALCALLSTART', 'ONEXTERNALCALLBACKSTART', 'ONAPPUNINSTALL', 'ONAPPINSTALL'] as const;
/**
 * With the local phone index on: a CRM record added, changed or deleted is read into it at once — posted to our
 * handler, or (`offline`) queued at Bitrix24 for us to read (event.bind with event_type=offline, no handler).
 */
export const INDEX_EVENTS = ['CONTACT', 'COMPANY', 'LEAD'].flatMap((t) => ['ADD', 'UPDATE', 'DELETE'].map((k) => `ONCRM${t}${k}`));

export function appSetup(client: Bitrix24Client, line: { number: string; name: string }, opts: { indexEvents?: 'handler' | 'offline' | null } = {}): (publicUrl: string) => Promise<string[]> {
  return async (publicUrl) => {
    const problems: string[] = [];
    const handler = `${publicUrl.replace(/\/+$/, '')}/bitrix/events`;
    const attempt = async (what: string, method: string, params: Record<string, unknown>) => {
      try {
        await client.call(method, params);
      } catch (err) {
        if (!/already/i.test((err as Error).message)) problems.push(`${what}: ${(err as Error).message}`);
      }
    };
    // Made together, so the client sends them as one batch: the install spends few of the portal's requests, and
    // the lookups right after it find the burst still free.
    await Promise.all([
      ...[...BOUND_EVENTS, ...(opts.indexEvents === 'handler' ? INDEX_EVENTS : [])].map((event) => attempt(`event.bind ${event}`, 'event.bind', { event, handler })),
      ...(opts.indexEvents === 'offline' ? INDEX_EVENTS : []).map((event) => attempt(`event.bind ${event} (offline)`, 'event.bind', { event, event_type: 'offline' })),
      attempt(`telephony.externalLine.add ${line.number}`, 'telephony.externalLine.add', { NUMBER: line.number, NAME: line.name, CRM_AUTO_CREATE: 'Y' }),
    ]);
    // Side by side, so their reads and then their writes go out in the same batches: the install spends no more of the
    // portal's requests for the placement (the lookups right after it find the bucket as before).
    const [unset, menu] = await Promise.all([makeDefaultOutgoing(client, line.number), bindAnalyticsMenu(client, `${publicUrl.replace(/\/+$/, '')}/bitrix/app`)]);
    for (const problem of [unset, menu]) if (problem) problems.push(problem);
    return problems;
  };
}

/**
 * Our line as the default for outgoing calls (voximplant.line.outgoing.set). Its id is what voximplant.line.get names
 * it (REST_APP:<app>:<number>); the method answers 1 even for an id it does not know, so the result is read back.
 * Returns what to tell the administrator when it could not be done (e.g. no "Manage numbers" right).
 */
async function makeDefaultOutgoing(client: Bitrix24Client, number: string): Promise<string | null> {
  const manual = 'choose it by hand: Telephony → Settings → Default number for outgoing calls';
  try {
    const lines = await client.call<Record<string, string> | unknown[]>('voximplant.line.get');
    const id = Object.keys(lines && !Array.isArray(lines) ? lines : {}).find((k) => k.startsWith('REST_APP:') && k.endsWith(`:${number}`));
    if (!id) return `default outgoing line: our line ${number} is not among the portal's lines; ${manual}`;
    // One batch: Bitrix24 runs its commands in order, so the read sees the write.
    const [, now] = await Promise.all([client.call('voximplant.line.outgoing.set', { LINE_ID: id }), client.call<unknown>('voximplant.line.outgoing.get')]);
    return now === id ? null : `default outgoing line: the portal kept ${String(now)}; ${manual}`;
  } catch (err) {
    return `default outgoing line not set (${(err as Error).message}); ${manual}`;
  }
}

/**
 * Where managers look for telephony figures: Telephony → Call statistics, where Bitrix24 lists an application's
 * report as a group of its own below the built-in ones (TELEPHONY_ANALYTICS_MENU, b24restdocs
 * api-reference/widgets/telephony/analytics-menu.md; placements go with the application, so the install binds it).
 * Asked first (placement.get), so a reinstall binds nothing twice and a moved PUBLIC_URL replaces the old handler.
 */
export const ANALYTICS_PLACEMENT = 'TELEPHONY_ANALYTICS_MENU';
const MENU = {
  TITLE: 'Contact center (Cisco UCCX)',
  GROUP_NAME: 'Cisco UCCX',
  LANG_ALL: {
    ru: { TITLE: 'Контакт-центр (Cisco UCCX)', DESCRIPTION: 'Очереди, агенты, потерянные звонки; путь звонка', GROUP_NAME: 'Cisco UCCX' },
    en: { TITLE: 'Contact center (Cisco UCCX)', DESCRIPTION: "Queues, agents, abandoned calls; a call's way", GROUP_NAME: 'Cisco UCCX' },
  },
};

async function bindAnalyticsMenu(client: Bitrix24Client, handler: string): Promise<string | null> {
  try {
    const bound = await client.call<Array<{ placement?: string; handler?: string }>>('placement.get');
    const ours = (Array.isArray(bound) ? bound : []).filter((b) => b.placement === ANALYTICS_PLACEMENT);
    if (ours.some((b) => b.handler === handler)) return null;
    for (const old of ours) await client.call('placement.unbind', { PLACEMENT: ANALYTICS_PLACEMENT, HANDLER: old.handler });
    await client.call('placement.bind', { PLACEMENT: ANALYTICS_PLACEMENT, HANDLER: handler, ...MENU });
    return null;
  } catch (err) {
    return `the statistics in Telephony → Call statistics (placement.bind ${ANALYTICS_PLACEMENT}): ${(err as Error).message}; the application's own page still shows them`;
  }
}
