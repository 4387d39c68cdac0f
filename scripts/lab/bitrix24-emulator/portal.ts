/**
 * The state of an emulated Bitrix24 portal and the CRM rules the connector depends on, written from
 * Bitrix24's documentation (b24restdocs: the duplicate search, searchCrmEntities) and conformance/bitrix24. Lab code: independent of the product's own implementation on purpose.
 */
export interface PortalUser {
  ID: number;
  NAME: string;
  LAST_NAME: string;
  ACTIVE: boolean;
  UF_PHONE_INNER: string;
  UF_DEPARTMENT: number[];
}

export type EntityType = 'CONTACT' | 'LEAD' | 'COMPANY';

export interface PortalEntity {
  type: EntityType;
  ID: number;
  TITLE: string;
  NAME: string;
  ASSIGNED_BY_ID: number;
  PHONE: Array<{ ID: number; VALUE: string; VALUE_TYPE: string }>;
  SOURCE_ID: string;
  ORIGINATOR_ID: string;
  ORIGIN_ID: string;
  STATUS_ID: string;
  DATE_CREATE: string;
}

export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly description: string,
  ) {
    super(description);
  }
}

/** Bitrix24's NormalizePhone as the duplicate index applies it (§3.3). */
export function indexForm(value: string): string {
  let s = String(value).trim();
  if (s.startsWith('+8')) s = '00' + s.slice(1);
  let d = s.replace(/[^0-9#*]/g, '').replace(/[#*].*$/, '');
  if (d.length >= 10 && !/^8[012]/.test(d)) {
    if (d.startsWith('00')) d = d.slice(2);
    else if (d.startsWith('011')) d = d.slice(3);
    else if (d.startsWith('8')) d = '7' + d.slice(1);
    else if (d.startsWith('0')) d = d.slice(1);
  }
  return d;
}

export class Portal {
  users = new Map<number, PortalUser>();
  entities = new Map<string, PortalEntity>();
  private nextId: Record<EntityType, number> = { CONTACT: 1000, LEAD: 1000, COMPANY: 1000 };
  private nextPhoneId = 1;

  addUser(u: PortalUser): void {
    this.users.set(u.ID, u);
  }

  addEntity(
    type: EntityType,
    fields: { ID?: number; TITLE?: string; NAME?: string; ASSIGNED_BY_ID: number; phones: string[]; ORIGIN_ID?: string; SOURCE_ID?: string; ORIGINATOR_ID?: string },
  ): PortalEntity {
    const ID = fields.ID ?? this.nextId[type]++;
    if (fields.ID !== undefined && fields.ID >= this.nextId[type]) this.nextId[type] = fields.ID + 1;
    const e: PortalEntity = {
      type,
      ID,
      TITLE: fields.TITLE ?? '',
      NAME: fields.NAME ?? '',
      ASSIGNED_BY_ID: fields.ASSIGNED_BY_ID,
      PHONE: fields.phones.map((VALUE) => ({ ID: this.nextPhoneId++, VALUE, VALUE_TYPE: 'WORK' })),
      SOURCE_ID: fields.SOURCE_ID ?? '',
      ORIGINATOR_ID: fields.ORIGINATOR_ID ?? '',
      ORIGIN_ID: fields.ORIGIN_ID ?? '',
      STATUS_ID: type === 'LEAD' ? 'NEW' : '',
      DATE_CREATE: new Date().toISOString(),
    };
    this.entities.set(`${type}:${ID}`, e);
    return e;
  }

  /** Sorted by ID; kept between changes (the benchmark's portal holds 100,000 records). */
  private sorted = new Map<EntityType, { size: number; list: PortalEntity[] }>();

  list(type: EntityType): PortalEntity[] {
    // Records are only ever added or removed as a whole: the map's size tells whether the sorted copy still holds.
    let c = this.sorted.get(type);
    if (!c || c.size !== this.entities.size) {
      c = { size: this.entities.size, list: [...this.entities.values()].filter((e) => e.type === type).sort((a, b) => a.ID - b.ID) };
      this.sorted.set(type, c);
    }
    return [...c.list];
  }

  get(type: EntityType, id: number): PortalEntity | undefined {
    return this.entities.get(`${type}:${id}`);
  }

  /** Ids of `type` whose phones match any value in the duplicate index (at most 20, like the real one). */
  findByPhone(type: EntityType, values: string[]): number[] {
    const wanted = new Set(values.map(indexForm).filter(Boolean));
    // The duplicate index by number (rebuilt when records come or go, or a phone list changes length): a portal of
    // 100,000 records must not be scanned per search in the benchmark's process.
    const byNumber = this.phoneIndex();
    const ids = new Set<number>();
    for (const w of wanted) for (const e of byNumber.get(w) ?? []) if (e.type === type && e.PHONE.some((p) => indexForm(p.VALUE) === w)) ids.add(e.ID);
    return [...ids].sort((a, b) => a - b).slice(0, 20);
  }

  private phoneCache: { stamp: string; map: Map<string, PortalEntity[]> } | null = null;

  private phoneIndex(): Map<string, PortalEntity[]> {
    let phones = 0;
    for (const e of this.entities.values()) phones += e.PHONE.length;
    const stamp = `${this.entities.size}/${phones}`;
    if (this.phoneCache?.stamp === stamp) return this.phoneCache.map;
    const map = new Map<string, PortalEntity[]>();
    for (const e of this.entities.values()) for (const p of e.PHONE) map.set(indexForm(p.VALUE), [...(map.get(indexForm(p.VALUE)) ?? []), e]);
    this.phoneCache = { stamp, map };
    return map;
  }

  leadsWithPhone(value: string): PortalEntity[] {
    const f = indexForm(value);
    return this.list('LEAD').filter((e) => e.PHONE.some((p) => indexForm(p.VALUE) === f));
  }
}

export function seedDemoPortal(): Portal {
  const p = new Portal();
  // Departments: 1 administration, 2 contact-center management, 3 sales.
  const users: Array<[number, string, string, boolean, string, number[]]> = [
    [1, 'Admin', 'Adminov', true, '', [1]],
    [2, 'Natalia', 'Rukovoditel', true, '', [2]],
    [5, 'Ivan', 'Petrov', true, '1021', [3]],
    [6, 'Maria', 'Sidorova', true, '1022', [3]],
    [7, 'Oleg', 'Uvolennyi', false, '1023', [3]],
    [8, 'Anna', 'Bezdobavochnaya', true, '', [3]],
    [9, 'Unprocessed', 'Calls', true, '', [3]],
  ];
  for (const [ID, NAME, LAST_NAME, ACTIVE, UF_PHONE_INNER, UF_DEPARTMENT] of users) p.addUser({ ID, NAME, LAST_NAME, ACTIVE, UF_PHONE_INNER, UF_DEPARTMENT });
  p.addEntity('CONTACT', { ID: 42, NAME: 'Sergey Klientov', ASSIGNED_BY_ID: 5, phones: ['+7 (912) 345-67-89'] });
  p.addEntity('CONTACT', { ID: 43, NAME: 'Pavel Staryi', ASSIGNED_BY_ID: 7, phones: ['8 495 111-22-33'] });
  p.addEntity('CONTACT', { ID: 44, NAME: 'Elena Novaya', ASSIGNED_BY_ID: 8, phones: ['+7 916 000-11-22'] });
  p.addEntity('CONTACT', { ID: 45, NAME: 'Dmitry Dvoinoi', ASSIGNED_BY_ID: 6, phones: ['+7 903 777-88-99'] });
  p.addEntity('CONTACT', { ID: 46, NAME: 'Olga Semyonova', ASSIGNED_BY_ID: 5, phones: ['+7 915 222-33-44'] });
  p.addEntity('CONTACT', { ID: 47, NAME: 'Petr Semyonov', ASSIGNED_BY_ID: 6, phones: ['8 (915) 222-33-44'] });
  // Typed without the country code, as CRM users do: the duplicate index holds 8125551122 (not 78125551122).
  p.addEntity('CONTACT', { ID: 49, NAME: 'Irina Piterskaya', ASSIGNED_BY_ID: 5, phones: ['(812) 555-11-22'] });
  p.addEntity('LEAD', { ID: 310, TITLE: 'Website request', NAME: 'Olga', ASSIGNED_BY_ID: 6, phones: ['79001112233'] });
  p.addEntity('LEAD', { ID: 311, TITLE: 'Old lead of Dmitry', NAME: 'Dmitry', ASSIGNED_BY_ID: 5, phones: ['89037778899'] });
  p.addEntity('COMPANY', { ID: 12, TITLE: 'OOO Romashka', ASSIGNED_BY_ID: 5, phones: ['+7 812 555-00-00'] });
  return p;
}
