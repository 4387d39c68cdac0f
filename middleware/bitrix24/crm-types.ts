/** The CRM as our features see it, in the Bitrix24 adapter's words (crm-directory.ts fills these from the REST answers). */
export type CrmEntityType = 'CONTACT' | 'LEAD' | 'COMPANY';

export interface CrmMatch {
  type: CrmEntityType;
  id: number;
  responsibleId: number | null;
  /** The record's name or title, when the CRM gave one (for the gadget's picker). */
  name?: string;
}

export interface CrmUser {
  id: number;
  active: boolean;
  /** UF_PHONE_INNER: the agent's Finesse extension. */
  extension: string | null;
}
