import type { EntityType, Portal } from '../portal';

/** A REST call's parameters as Bitrix24 reads them (query and form or JSON body, nested with `qs`). */
export type Params = Record<string, unknown>;
export type Auth = { kind: 'webhook'; userId: number } | { kind: 'app'; userId: number };

export interface EmulatedCall {
  CALL_ID: string;
  EXTERNAL_CALL_ID: string;
  USER_ID: number;
  PHONE_NUMBER: string;
  TYPE: number;
  LINE_NUMBER: string;
  CRM_ENTITY_TYPE: string;
  CRM_ENTITY_ID: number;
  registeredAt: number;
  /** 'rest': telephony.externalCall.register; 'click': Bitrix24 itself, for a click on a number. */
  origin: 'rest' | 'click';
  finished: null | { STATUS_CODE: string; DURATION: number; FAILED_REASON: string; at: number };
}

export interface OfflineEvent {
  ID: string;
  TIMESTAMP_X: string;
  EVENT_NAME: string;
  EVENT_DATA: unknown;
  EVENT_ADDITIONAL: unknown;
  MESSAGE_ID: string;
}

/** What the REST methods read and change: the portal's state, kept by the emulator. */
export interface PortalState {
  readonly portal: Portal;
  readonly app: { clientId: string; clientSecret: string };
  readonly admins: Set<number>;
  scopes: Set<string>;
  readonly calls: EmulatedCall[];
  readonly bindings: Map<string, Set<string>>;
  readonly offlineBindings: Set<string>;
  readonly offlineQueue: Map<string, OfflineEvent>;
  readonly lines: Map<string, { NUMBER: string; NAME: string; CRM_AUTO_CREATE: string }>;
  defaultOutgoingLine: string;
  mayManageNumbers: boolean;
  readonly notifications: Array<{ userId: number; message: string; at: number }>;
  /** placement.bind's registrations, in placement.get's shape. */
  readonly placements: Array<{ placement: string; userId: number; handler: string; options: unknown; title: string; description: string; langAll: Record<string, Record<string, string>> }>;
  readonly switches: { reuseOpenCallId: boolean; leadCreation: 'on' | 'disabled' };
  /** Tells the handlers bound to a CRM event (after the answer, as the portal does). */
  crmChanged(type: EntityType, id: number, kind: 'ADD' | 'UPDATE' | 'DELETE'): Promise<number[]>;
}

export interface MethodCall {
  readonly state: PortalState;
  readonly method: string;
  readonly p: Params;
  readonly auth: Auth;
}

/** One REST method: its answer's `result`, or a RestError thrown with the status and code Bitrix24 gives. */
export type Method = (call: MethodCall) => unknown;
export type MethodTable = Readonly<Record<string, Method>>;
