import $ from 'jquery';
import type { Strings } from './i18n';
import type { ConnectionState } from './notification-source';

/** The gadget's UI (jQuery): connection state, the current call, this shift's calls. Text only via .text(). */
export interface CallEntry {
  dialogId: string;
  direction: 'inbound' | 'outbound';
  phone: string;
  at: Date;
  url?: string;
  label?: string;
  note?: string;
  blocked?: boolean;
  /** Several CRM records have this number: the agent picks one. */
  choices?: Array<{ url: string; label: string }>;
}

const MAX_CALLS = 20;

export class GadgetView {
  private readonly root: JQuery<HTMLElement>;
  private readonly calls: CallEntry[] = [];

  constructor(
    container: HTMLElement,
    private readonly t: Strings,
    private readonly resize: () => void,
  ) {
    this.root = $('<div class="fb24"></div>').appendTo(container);
    this.root.append(
      $('<div class="fb24-head"></div>').append($('<span class="fb24-title"></span>').text(t.title), $('<span class="fb24-state" data-status="connecting"></span>').text(t.connecting)),
      $('<div class="fb24-current"></div>').append($('<div class="fb24-label"></div>').text(t.currentCall), $('<div class="fb24-call"></div>').text(t.noCall)),
      $('<div class="fb24-notice" hidden></div>'),
      $('<div class="fb24-dial" data-status="off" hidden></div>'),
      $('<div class="fb24-label"></div>').text(t.shift),
      $('<ul class="fb24-calls"></ul>'),
    );
  }

  state(s: ConnectionState): void {
    const el = this.root.find('.fb24-state');
    el.attr('data-status', s.status).text(this.t[s.status]);
    el.attr('title', s.reason ?? '');
    if (s.reason && s.status !== 'connected') el.text(`${this.t[s.status]} (${s.reason})`);
    this.resize();
  }

  notice(text: string): void {
    const n = this.root.find('.fb24-notice');
    n.text(text).prop('hidden', false);
    window.setTimeout(() => n.prop('hidden', true), 5000);
  }

  /** Whether Bitrix24 clicks can reach this gadget now, and the last dial (data-status for tests and styling). */
  dialState(status: 'online' | 'offline' | 'dialing' | 'dialled' | 'failed', text: string, reason = ''): void {
    this.root.find('.fb24-dial').attr('data-status', status).attr('title', reason).text(text).prop('hidden', false);
    this.resize();
  }

  upsert(entry: CallEntry): void {
    const i = this.calls.findIndex((c) => c.dialogId === entry.dialogId);
    if (i >= 0) this.calls[i] = entry;
    else this.calls.unshift(entry);
    this.calls.length = Math.min(this.calls.length, MAX_CALLS);
    this.renderCurrent(this.calls[0]!);
    this.renderList();
    this.resize();
  }

  private link(c: CallEntry, cls: string, text: string): JQuery<HTMLElement> {
    // A plain link to the named window: a click is a user gesture, so no pop-up blocker stops it.
    return $(`<a class="${cls}" target="fb24_crm" rel="noopener"></a>`).attr('href', c.url!).text(text);
  }

  private renderCurrent(c: CallEntry): void {
    const box = this.root.find('.fb24-call').empty().attr('data-dialog', c.dialogId);
    box.append($('<div class="fb24-phone"></div>').text(`${c.direction === 'inbound' ? this.t.inbound : this.t.outbound}: ${c.phone || '—'}`));
    if (c.url && c.blocked) box.append(this.link(c, 'fb24-open fb24-open-big', this.t.open));
    else if (c.url) box.append(this.link(c, 'fb24-open', c.label ?? this.t.open));
    if (c.note) box.append($('<div class="fb24-note"></div>').text(c.note));
    if (c.choices?.length) {
      const list = $('<ul class="fb24-choices"></ul>').append($('<li class="fb24-label"></li>').text(this.t.pick));
      for (const ch of c.choices) list.append($('<li></li>').append(this.link({ ...c, url: ch.url }, 'fb24-choice', ch.label)));
      box.append(list);
    }
  }

  private renderList(): void {
    const ul = this.root.find('.fb24-calls').empty();
    for (const c of this.calls) {
      const li = $('<li></li>').attr('data-dialog', c.dialogId);
      li.append($('<span class="fb24-time"></span>').text(c.at.toLocaleTimeString(this.t.locale)), ' ', $('<span></span>').text(c.phone || '—'), ' ');
      if (c.url) li.append(this.link(c, 'fb24-link', c.label ?? this.t.open));
      else if (c.note) li.append($('<span class="fb24-note"></span>').text(c.note));
      ul.append(li);
    }
  }
}

export const GADGET_CSS = `
.fb24{font:13px/1.4 Arial,Helvetica,sans-serif;color:#333;padding:6px 8px}
.fb24-head{display:flex;justify-content:space-between;align-items:center;margin-bottom:6px}
.fb24-title{font-weight:bold;color:#2fc6f6}
.fb24-state{font-size:12px;padding:1px 6px;border-radius:8px;background:#eee}
.fb24-state[data-status=connected]{background:#e6f4ea;color:#137333}
.fb24-state[data-status=reconnecting],.fb24-state[data-status=connecting]{background:#fef7e0;color:#b06000}
.fb24-state[data-status=failed]{background:#fce8e6;color:#c5221f}
.fb24-label{font-size:11px;text-transform:uppercase;color:#777;margin-top:6px}
.fb24-call{padding:4px 0}
.fb24-open-big{display:inline-block;margin-top:4px;padding:8px 14px;background:#2fc6f6;color:#fff;font-weight:bold;border-radius:4px;text-decoration:none}
.fb24-notice{background:#fef7e0;padding:4px;margin:4px 0}
.fb24-dial{font-size:12px;color:#555;margin:4px 0}
.fb24-dial[data-status=failed],.fb24-dial[data-status=offline]{color:#c5221f}
.fb24-calls{list-style:none;margin:0;padding:0}
.fb24-calls li{padding:2px 0;border-bottom:1px solid #f0f0f0}
.fb24-time{color:#777}
.fb24-note{color:#b06000}
.fb24-choices{list-style:none;margin:4px 0 0;padding:0}
.fb24-choice{display:inline-block;margin:2px 0;padding:3px 8px;border:1px solid #2fc6f6;border-radius:4px;text-decoration:none}
`;
