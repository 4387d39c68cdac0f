/** Where dialog notifications come from: the desktop's hub relay, or our own XMPP connection. One interface. */
export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'failed';

export interface ConnectionState {
  status: ConnectionStatus;
  reason?: string;
}

export interface SourceHandlers {
  /** A Finesse <Update>: escaped text or the element. */
  update(payload: string | Element): void;
  /** A notification that could not be read at all (logged, shown once, never popped). */
  invalid(reason: string): void;
  state(s: ConnectionState): void;
  /** The connection came back: live dialogs must be read again (events may have been missed). */
  resync(): void;
}

export interface NotificationSource {
  readonly kind: 'hub' | 'websocket' | 'bosh';
  start(handlers: SourceHandlers): void;
  stop(): void;
}
