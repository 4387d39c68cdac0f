/**
 * The contact center's own numbers: every Bitrix24 user's internal number (UF_PHONE_INNER, read from the portal at
 * start and every hour), the configured AGENT_EXTENSIONS, and the extension of every agent whose gadget opened a
 * session (Finesse told us). A lookup or a call report for one of them is refused: a gadget of an older version, or a
 * call flow nobody foresaw, must never put an agent's extension into the CRM as a customer (a lead, a call).
 */
export class InternalNumbers {
  private portal = new Set<string>();
  private readonly agents = new Set<string>();
  private readonly configured: Set<string>;
  /** When the portal's users were last read, and why the last read failed (for /readyz). */
  readAt: number | null = null;
  lastError: string | null = null;

  constructor(
    configured: Iterable<string>,
    private readonly readPortal: () => Promise<string[]>,
  ) {
    this.configured = new Set([...configured].map(digitsOf).filter(Boolean));
  }

  /** True when any of these forms of a number (as typed, canonical, national…) is an internal number. */
  has(...forms: string[]): boolean {
    return forms.some((f) => {
      const d = digitsOf(f);
      return d !== '' && (this.configured.has(d) || this.agents.has(d) || this.portal.has(d));
    });
  }

  /** An agent's gadget opened a session on this extension. */
  noteAgent(extension: string): void {
    const d = digitsOf(extension);
    if (d && this.agents.size < 50_000) this.agents.add(d);
  }

  /** Reads the portal's users' internal numbers again; keeps the last good set when the portal fails. */
  async refresh(): Promise<number> {
    try {
      this.portal = new Set((await this.readPortal()).map(digitsOf).filter(Boolean));
      this.readAt = Date.now();
      this.lastError = null;
    } catch (err) {
      this.lastError = (err as Error).message.slice(0, 200);
      throw err;
    }
    return this.portal.size;
  }

  get size(): number {
    return new Set([...this.configured, ...this.agents, ...this.portal]).size;
  }
}

const digitsOf = (v: string) => v.replace(/\D/g, '');
