import type { DialCommand, DialResult } from '../../protocol/agent-api';
import { NamedError } from '../../protocol/named-error';

export type { DialCommand, DialResult };

/**
 * Places a click-to-dial call as the agent himself (Cisco Finesse developer guide: Dialog — Create a New Dialog (Make a Call)): only the signed-in agent may create
 * a dialog from his extension, so the gadget does it with its own authorization. UCCX dials only from NOT_READY:
 * a READY agent is switched first or the click is refused, as the middleware says.
 */
export interface FinesseRest {
  baseUrl: string;
  authorization: string;
  agentId: string;
}

/** Finesse answered, with an error (as opposed to not answering at all). */
class Refused extends NamedError {}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** States from which a call can be made at all (after a switch from READY). */
const IDLE = new Set(['NOT_READY', 'READY']);

export class Dialer {
  constructor(
    private readonly f: FinesseRest,
    private readonly http: typeof fetch,
    private readonly parse: (xml: string) => Document,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** MAKE_CALLs Finesse accepted, by the requestId we sent: its asynchronous CTI error names it (finesse.md §2.1). */
  private readonly placed = new Map<string, { toAddress: string; commandId: string; at: number }>();

  private request(method: string, path: string, body?: string, requestId?: string): Promise<Response> {
    return this.http(`${this.f.baseUrl}/finesse/api/${path}`, {
      method,
      headers: { authorization: this.f.authorization, accept: 'application/xml', ...(body ? { 'content-type': 'application/xml' } : {}), ...(requestId ? { requestId } : {}) },
      body,
    });
  }

  /** The call we placed that an asynchronous CTI error (<apiErrors> with this requestId) is about, once. */
  claim(requestId: string): { toAddress: string; commandId: string } | null {
    const p = requestId ? this.placed.get(requestId) : undefined;
    if (!p) return null;
    this.placed.delete(requestId);
    return p;
  }

  private text(doc: Document, name: string): string {
    return (doc.getElementsByTagName(name)[0]?.textContent ?? '').trim();
  }

  private async errorOf(res: Response): Promise<string> {
    const body = await res.text().catch(() => '');
    try {
      const doc = this.parse(body);
      const detail = [this.text(doc, 'ErrorType'), this.text(doc, 'ErrorMessage')].filter(Boolean).join(': ');
      if (detail) return `${detail} (HTTP ${res.status})`;
    } catch {
      // not XML: the status says enough
    }
    return `HTTP ${res.status}`;
  }

  private async user(): Promise<{ state: string; extension: string }> {
    const res = await this.request('GET', `User/${encodeURIComponent(this.f.agentId)}`);
    if (!res.ok) throw new Refused(await this.errorOf(res));
    const doc = this.parse(await res.text());
    return { state: this.text(doc, 'state').toUpperCase(), extension: this.text(doc, 'extension') };
  }

  async dial(cmd: DialCommand): Promise<DialResult> {
    try {
      let me = await this.user();
      if (!me.extension) return { ok: false, code: 'agent_busy', reason: 'the agent is not signed in to an extension', state: '' };
      if (!IDLE.has(me.state)) return { ok: false, code: 'agent_busy', reason: `the agent is ${me.state}`, state: me.state };
      if (me.state === 'READY') {
        if (cmd.whenReady === 'refuse') return { ok: false, code: 'agent_busy', reason: 'the agent is READY; set Not Ready to dial', state: 'READY' };
        const reason = cmd.reasonCodeId === null ? '' : `<reasonCodeId>${cmd.reasonCodeId}</reasonCodeId>`;
        const put = await this.request('PUT', `User/${encodeURIComponent(this.f.agentId)}`, `<User><state>NOT_READY</state>${reason}</User>`);
        if (!put.ok) return { ok: false, code: 'finesse_refused', reason: `NOT_READY: ${await this.errorOf(put)}` };
        // The change is asynchronous (202, then a notification): wait until Finesse shows it.
        for (let i = 0; i < 20 && me.state !== 'NOT_READY'; i++) {
          if (i) await this.sleep(100);
          me = await this.user();
        }
        if (me.state !== 'NOT_READY') return { ok: false, code: 'agent_busy', reason: `the agent did not become NOT_READY (is ${me.state})`, state: me.state };
      }
      const body = `<Dialog><requestedAction>MAKE_CALL</requestedAction><fromAddress>${esc(me.extension)}</fromAddress><toAddress>${esc(cmd.toAddress)}</toAddress></Dialog>`;
      const requestId = newRequestId();
      for (const [id, p] of this.placed) if (Date.now() - p.at > 10 * 60_000) this.placed.delete(id); // errors come in seconds
      // Known before the POST: the CTI error may be delivered before the 202 is read.
      this.placed.set(requestId, { toAddress: cmd.toAddress, commandId: cmd.id, at: Date.now() });
      const res = await this.request('POST', `User/${encodeURIComponent(this.f.agentId)}/Dialogs`, body, requestId).catch((err: unknown) => {
        this.placed.delete(requestId);
        throw err;
      });
      if (res.status === 202 || res.status === 200) return { ok: true };
      this.placed.delete(requestId);
      return { ok: false, code: 'finesse_refused', reason: await this.errorOf(res) };
    } catch (err) {
      if (err instanceof Refused) return { ok: false, code: 'finesse_refused', reason: err.message };
      return { ok: false, code: 'finesse_refused', reason: `Finesse did not answer: ${(err as Error).message}` };
    }
  }
}

/** finesse.js sends a UUID as requestId on every non-GET request; Finesse copies it into the notifications it causes. */
function newRequestId(): string {
  return globalThis.crypto?.randomUUID?.() ?? `fb24-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}
