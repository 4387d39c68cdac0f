import { countRestCalls, noteRestCall } from './rest-usage';

describe('REST calls counted per piece of work', () => {
  it('counts the calls issued in each context, apart from each other and from calls outside any', async () => {
    const tick = () => new Promise((r) => setImmediate(r));
    noteRestCall(); // outside: counted nowhere
    const [a, b] = await Promise.all([
      countRestCalls(async () => {
        noteRestCall();
        await tick();
        noteRestCall();
        return 'a';
      }),
      countRestCalls(async () => {
        await tick();
        noteRestCall();
        return 'b';
      }),
    ]);
    expect([a.result, a.calls(), b.result, b.calls()]).toEqual(['a', 2, 'b', 1]);
  });
});
