import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';

/** Compares a secret someone gave with ours in constant time, so timing does not tell how much of it matched. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer …` header, if any. */
export function bearerToken(ctx: Context): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'))?.[1];
}
