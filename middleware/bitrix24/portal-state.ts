import type { Logger } from '../log';
import { failureClass, type FailureClass } from './failure-class';

/**
 * Whether the portal exists where we send requests. A deleted portal (PORTAL_DELETED) or a moved one (a redirect) is
 * a state, not an outage: every client stops sending at once — a lookup answers with its own reason, outbox jobs wait
 * (kept) — and only a probe goes out, every PROBE_EVERY_MS, until the portal answers again (or B24_PORTAL_URL is
 * changed and the middleware restarted). One log line when the state begins, one when it ends.
 */
export type PortalCondition = { state: 'ok' } | { state: 'gone' | 'moved'; since: number; reason: string; location?: string; error: Error };

export const PROBE_EVERY_MS = 20_000;

export class PortalState {
  private current: PortalCondition = { state: 'ok' };

  constructor(private readonly log: Logger) {}

  get condition(): PortalCondition {
    return this.current;
  }

  /** The error to answer a request with instead of sending it, or null when requests may go. */
  blocked(): Error | null {
    return this.current.state === 'ok' ? null : this.current.error;
  }

  /** A request failed: a deleted or moved portal begins its state. */
  failed(err: unknown): FailureClass {
    const cls = failureClass(err);
    if ((cls === 'portal_gone' || cls === 'portal_moved') && this.current.state === 'ok') {
      const e = err as Error & { location?: string };
      this.current = { state: cls === 'portal_gone' ? 'gone' : 'moved', since: Date.now(), reason: e.message, ...(e.location ? { location: e.location } : {}), error: e };
      this.log.error(
        { state: this.current.state, reason: e.message.slice(0, 300), location: e.location },
        cls === 'portal_gone'
          ? 'Bitrix24 says the portal was deleted (or its public part is closed): nothing is sent to it, jobs are kept, and it is asked again every 20 s. Reopen the portal, or configure the new one and reinstall'
          : 'The Bitrix24 portal moved (it answers with a redirect): nothing is sent to it, jobs are kept. Set B24_PORTAL_URL to its new address, restart, and reinstall the application',
      );
    }
    return cls;
  }

  /** A request (the probe) went through: the portal is back. */
  answered(): void {
    if (this.current.state === 'ok') return;
    this.log.warn({ was: this.current.state, forSeconds: Math.round((Date.now() - this.current.since) / 1000) }, 'the Bitrix24 portal answers again: jobs go out');
    this.current = { state: 'ok' };
  }
}
