/** The egress gateway's chaos API as the tests drive it: one POST, which must be accepted. */
import { expect } from 'vitest';

export async function postChaos(egressApiUrl: string, body: object): Promise<void> {
  const res = await fetch(`${egressApiUrl}/v1/chaos`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
}
