import type { TraceStep } from './call-trace';

/** A call's timeline in words (the `trace` command, the trace page): its steps, and where it stopped. */
export type TraceLang = 'ru' | 'en';

const T = {
  en: {
    none: 'No step of a call matches. Numbers are kept TRACE_KEEP_DAYS days; try the number as UCCX saw it, a Finesse dialog id or a Bitrix24 CALL_ID.',
    noPop: 'The lookup answered, but no gadget reported a pop: the call reached no agent whose desktop had the gadget open (or the gadget could not reach the middleware).',
    notReported: 'The call popped, but no gadget reported it: it is not in Bitrix24 (the desktop was closed before the call ended?).',
    notFinished: 'The call ended, but Bitrix24 has not finished it yet: see the register and finish steps (retries say why).',
    stopped: 'Stopped at',
    complete: 'The call is in Bitrix24: registered and finished.',
    missed: 'A missed call, logged in Bitrix24.',
    lookupOnly: 'Only the lookup: the call did not reach an agent (queue, IVR, abandoned) or is still going on.',
    going: 'The call is going on: the agent has it, the gadget will report its end.',
  },
  ru: {
    none: 'Шагов звонка не найдено. Номера хранятся TRACE_KEEP_DAYS дней; попробуйте номер так, как его видел UCCX, id диалога Finesse или CALL_ID Битрикс24.',
    noPop: 'Поиск ответил, но ни один гаджет не сообщил о карточке: звонок не дошёл до оператора с открытым гаджетом (или гаджет не достучался до коннектора).',
    notReported: 'Карточка открылась, но гаджет не сообщил о звонке: в Битрикс24 его нет (рабочий стол закрыли до конца звонка?).',
    notFinished: 'Звонок закончился, но Битрикс24 ещё не завершил его: смотрите шаги регистрации и завершения (повторы говорят почему).',
    stopped: 'Остановился на',
    complete: 'Звонок в Битрикс24: зарегистрирован и завершён.',
    missed: 'Пропущенный звонок, записан в Битрикс24.',
    lookupOnly: 'Только поиск: звонок не дошёл до оператора (очередь, IVR, брошен) или ещё идёт.',
    going: 'Звонок идёт: он у оператора, гаджет сообщит о его конце.',
  },
};

/** Where the call stopped, in one sentence. */
export function summarize(steps: TraceStep[], lang: TraceLang): string {
  const t = T[lang];
  if (steps.length === 0) return t.none;
  const has = (kind: TraceStep['kind'], ok?: (s: TraceStep) => boolean) => steps.some((s) => s.kind === kind && (!ok || ok(s)));
  const failed = [...steps]
    .reverse()
    .find((s) => /^(retry|refused|failed|skipped)/.test(s.outcome) || ['agent_busy', 'finesse_refused', 'no_extension', 'bad_number', 'unverified', 'refused'].includes(s.outcome));
  const finished = has('finish', (s) => s.outcome === 'ok');
  if (has('missed', (s) => s.outcome === 'ok') && !has('pop')) return t.missed;
  if (finished && !failed) return t.complete;
  if (failed && !finished) return `${t.stopped}: ${failed.kind} — ${failed.outcome}`;
  if (has('report', (s) => s.outcome.startsWith('ended')) && !finished) return t.notFinished;
  const last = steps[steps.length - 1]!;
  if (last.kind === 'report' || (has('report') && !failed && !has('report', (s) => s.outcome.startsWith('ended')))) return t.going;
  if (has('pop') && !has('report')) return t.notReported;
  if (has('lookup') && !has('pop') && !has('report')) return has('lookup', (s) => s.data.route === 'agent') ? t.noPop : t.lookupOnly;
  return finished ? t.complete : `${t.stopped}: ${steps[steps.length - 1]!.kind} — ${steps[steps.length - 1]!.outcome}`;
}

/** `2026-12-07 14:03:05.120` in the given zone. */
export function stamp(at: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(
    new Date(at),
  );
  return `${parts.replace(',', '')}.${String(at % 1000).padStart(3, '0')}`;
}

/** What a step carries besides its kind and outcome: the ids and facts, as key=value. */
export function details(s: TraceStep): string {
  const facts: Record<string, unknown> = { number: s.number, agent: s.agent, callId: s.callId, dialogId: s.dialogId, CALL_ID: s.b24CallId, ...s.data };
  return Object.entries(facts)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('  ');
}

/** The timeline as text, one step a line, and the summary last. */
export function timelineText(steps: TraceStep[], lang: TraceLang, timeZone: string): string {
  const lines = steps.map((s) => `${stamp(s.at, timeZone)}  ${s.kind.padEnd(8)}  ${s.outcome.padEnd(12)}  ${details(s)}`);
  return [...lines, '', summarize(steps, lang)].join('\n') + '\n';
}
