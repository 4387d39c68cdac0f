import net from 'node:net';

/**
 * One Finesse side's notification service in the lab: a TCP relay to the lab's Prosody on a port of its own, so a
 * side can fail alone — cut, its connections are dropped and new ones refused, as when a node goes down.
 */
export class SideProxy {
  private server: net.Server | null = null;
  private readonly open = new Set<net.Socket>();
  private up = true;
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<void> {
    this.server = net.createServer((client) => {
      if (!this.up) {
        client.destroy();
        return;
      }
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.open.add(s);
        s.on('close', () => this.open.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, '127.0.0.1', resolve);
    });
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /** Drops every connection and refuses new ones. */
  cut(): void {
    this.up = false;
    for (const s of this.open) s.destroy();
  }

  restore(): void {
    this.up = true;
  }

  get isUp(): boolean {
    return this.up;
  }

  async stop(): Promise<void> {
    this.cut();
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
