import type { Bitrix24Client } from './rest-client';

/**
 * What the install sets up in the portal (reference bitrix24.md §1.4, §4.3): the events we handle bound to our
 * handler, and our external line, which an administrator then chooses as the default for outgoing calls.
 * Re-running it is harmless: "already bound" and "line already exists" count as done.
 */
export const BOUND_EVENTS = ['ONEXTERNALCALLSTART', 'ONEXTERNALCALLBACKSTART', 'ONAPPUNINSTALL'] as const;

export function appSetup(client: Bitrix24Client, line: { number: string; name: string }): (publicUrl: string) => Promise<string[]> {
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
    for (const event of BOUND_EVENTS) await attempt(`event.bind ${event}`, 'event.bind', { event, handler });
    await attempt(`telephony.externalLine.add ${line.number}`, 'telephony.externalLine.add', { NUMBER: line.number, NAME: line.name, CRM_AUTO_CREATE: 'Y' });
    return problems;
  };
}
