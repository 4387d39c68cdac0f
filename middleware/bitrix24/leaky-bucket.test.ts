import { LeakyBucket } from './leaky-bucket';

describe('LeakyBucket', () => {
  let t = 0;
  const clock = () => t;
  beforeEach(() => {
    t = 0;
  });

  it('lets the reserve go at once, then paces at the drain rate', () => {
    const b = new LeakyBucket(2, 50, clock); // reserve 10
    for (let i = 0; i < 10; i++) {
      expect(b.delay()).toBe(0);
      b.take();
    }
    expect(b.delay()).toBe(500); // one request drains in 1/2 s
    t = 500;
    expect(b.delay()).toBe(0);
  });

  it('drains over time', () => {
    const b = new LeakyBucket(5, 250, clock);
    for (let i = 0; i < 50; i++) b.take();
    t = 4000; // 20 drained
    expect(b.current()).toBeCloseTo(30);
  });

  it('after a 503 waits a slot, then longer while the portal keeps refusing (at most 5 s), and not at all once it takes one', () => {
    const b = new LeakyBucket(2, 50, clock);
    b.refused();
    expect(b.delay()).toBe(500); // one slot at 2 req/s — not the 20 s a full bucket takes to drain
    b.refused();
    expect(b.delay()).toBe(1000);
    for (let i = 0; i < 10; i++) b.refused();
    expect(b.delay()).toBe(5000);
    t += 5000;
    b.accepted();
    expect(b.delay()).toBe(0);
    b.refused();
    expect(b.delay()).toBe(500);
  });

  it('never exceeds a tiny burst', () => {
    const b = new LeakyBucket(1, 1, clock);
    expect(b.delay()).toBe(0);
    b.take();
    expect(b.delay()).toBe(1000);
  });

  it("a priority request (a click's proof) uses the room above the reserve; background work yields to a waiting one", () => {
    const b = new LeakyBucket(2, 50, clock); // reserve 10
    for (let i = 0; i < 10; i++) b.take();
    expect(b.delay()).toBe(500);
    expect(b.delay(true)).toBe(0);
    for (let i = 0; i < 40; i++) b.take(); // our mirror says the portal is full
    expect(b.delay(true)).toBe(500);
    b.refused(); // and the portal agrees: both wait for its slot, the priority request first
    b.waitingPriority(1);
    expect(b.delay(true)).toBe(500);
    expect(b.delay()).toBeGreaterThan(b.delay(true));
    b.waitingPriority(-1);
    t = 30_000;
    expect(b.delay()).toBe(0);
  });
});
