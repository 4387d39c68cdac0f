/** Every string the agent sees, in ru and en; the language comes from the desktop's locale. */
export const STRINGS = {
  en: {
    locale: 'en-GB',
    title: 'Bitrix24',
    connected: 'Connected',
    connecting: 'Connecting…',
    reconnecting: 'Reconnecting…',
    failed: 'Not connected',
    currentCall: 'Current call',
    noCall: 'No call',
    open: 'Open in Bitrix24',
    pick: 'Several records have this number — choose one:',
    shift: 'Calls this shift',
    lookingUp: 'Looking up the caller…',
    newCaller: 'New caller',
    crm_unavailable: 'Bitrix24 did not answer; the caller is not known yet',
    lead_pending: 'New caller: the lead is being created',
    no_caller_number: 'No caller number',
    lookup_failed: 'Lookup failed',
    inbound: 'Incoming',
    outbound: 'Outgoing',
    malformed: 'A notification could not be read and was skipped',
    dialOnline: 'Click-to-dial from Bitrix24: on',
    dialOffline: 'Click-to-dial from Bitrix24: off',
    dialing: 'Dialling {n}…',
    dialled: 'Dialled {n}',
    dialFailed: 'Call to {n} not placed: {r}',
  },
  ru: {
    locale: 'ru-RU',
    title: 'Битрикс24',
    connected: 'Подключено',
    connecting: 'Подключение…',
    reconnecting: 'Переподключение…',
    failed: 'Нет подключения',
    currentCall: 'Текущий звонок',
    noCall: 'Нет звонка',
    open: 'Открыть в Битрикс24',
    pick: 'Этот номер есть у нескольких записей — выберите:',
    shift: 'Звонки за смену',
    lookingUp: 'Ищем звонящего…',
    newCaller: 'Новый клиент',
    crm_unavailable: 'Битрикс24 не ответил; клиент пока не найден',
    lead_pending: 'Новый клиент: лид создаётся',
    no_caller_number: 'Номер звонящего неизвестен',
    lookup_failed: 'Поиск не удался',
    inbound: 'Входящий',
    outbound: 'Исходящий',
    malformed: 'Уведомление не удалось прочитать, оно пропущено',
    dialOnline: 'Набор из Битрикс24: включён',
    dialOffline: 'Набор из Битрикс24: недоступен',
    dialing: 'Набираем {n}…',
    dialled: 'Набран {n}',
    dialFailed: 'Звонок на {n} не набран: {r}',
  },
} as const;

export type Lang = keyof typeof STRINGS;
export type Strings = (typeof STRINGS)[Lang];

export function pickLang(locale: string | undefined): Lang {
  return /^ru/i.test(locale ?? '') ? 'ru' : 'en';
}
