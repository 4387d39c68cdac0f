import { SIGN_IN_LIMITS, SignInBudget } from './sign-in-budget';

describe('SignInBudget', () => {
  let t = 0;
  const clock = () => t;
  beforeEach(() => {
    t = 1_000_000;
  });

  it('a flood of made-up names reaches Finesse at most at the small rate, whatever the names', () => {
    const b = new SignInBudget(clock);
    let forwarded = 0;
    for (let i = 0; i < 1000; i++) {
      t += 10; // 1,000 attempts in 10 s
      if (b.take(`mallory${i}`)) forwarded += 1;
    }
    const bound = SIGN_IN_LIMITS.other.burst + 10 * SIGN_IN_LIMITS.other.perSecond;
    expect(forwarded).toBeLessThanOrEqual(bound);
    expect(forwarded).toBeGreaterThanOrEqual(bound - 1); // the fractions of a slot between attempts
  });

  it('agents who signed in lately are not starved by a flood: they take from their own bucket', () => {
    const b = new SignInBudget(clock);
    expect(b.take('1001')).toBe(true);
    b.succeeded('1001');
    for (let i = 0; i < 100; i++) b.take(`x${i}`); // the other bucket is empty now
    expect(b.take('someone-new')).toBe(false);
    expect(b.take('1001')).toBe(true);
    t += SIGN_IN_LIMITS.knownForMs + 1; // a day later he counts as new again: in a flood he waits with the rest
    for (let i = 0; i < 100; i++) b.take(`y${i}`);
    expect(b.take('1001')).toBe(false);
  });

  it('a shift start of 300 known agents passes within its burst and rate', () => {
    const b = new SignInBudget(clock);
    for (let i = 0; i < 300; i++) b.succeeded(`a${i}`);
    let passed = 0;
    for (let i = 0; i < 300; i++) {
      t += 100; // 300 sign-ins over 30 s
      if (b.take(`a${i}`)) passed += 1;
    }
    expect(passed).toBe(300);
  });
});
