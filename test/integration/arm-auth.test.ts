/**
 * The ARM API over real HTTPS asks for a bearer token from the fleet's issuer and takes the caller from
 * it (services/hub/arm/auth.ts): refusals are ARM's 401 bodies; systemData names the token's user.
 * The refusal cases in detail: test/unit/arm-auth.test.ts.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ClusterRef } from '../../contract/index.js';
import { ISSUER_FILES, TokenIssuer } from '../../platform/fleet-issuer.js';
import { generateAgentKeyPair } from '../../platform/identity.js';
import { TestFleet } from '../helpers/fleet.js';

let fleet: TestFleet;
let issuer: TokenIssuer;

beforeAll(async () => {
  fleet = await TestFleet.start({ clusters: 0, agents: false });
  await fleet.arm.createGroup(fleet.subscriptionId, 'auth-rg');
  issuer = await TokenIssuer.open(join(fleet.dataDir, 'issuer', ISSUER_FILES.key));
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
});

const bearer = async (user: string): Promise<string> => `Bearer ${await issuer.issue({ user })}`;

it('refuses a call without a token, or with an expired one, as ARM does', async () => {
  const path = fleet.arm.subscriptionPath(fleet.subscriptionId);
  const none = await fleet.arm.listPage(path, { authorization: null });
  expect(none.status).toBe(401);
  expect(none.body).toEqual({
    error: {
      code: 'AuthenticationFailed',
      message: "Authentication failed. The 'Authorization' header is missing.",
    },
  });
  expect(none.headers.get('www-authenticate')).toMatch(
    /^Bearer authorization_uri="https:\/\/sts\.arcfleet\.local\//,
  );
  const old = await issuer.issue({ user: 'alice', nowSec: Math.floor(Date.now() / 1000) - 7200 });
  const expired = await fleet.arm.listPage(path, { authorization: `Bearer ${old}` });
  expect(expired.status).toBe(401);
  expect(expired.body).toMatchObject({ error: { code: 'ExpiredAuthenticationToken' } });
  // The same call with the owner's token answers.
  expect((await fleet.arm.listPage(path)).status).toBe(200);
});

it('names the token’s user in systemData: who created, who changed last', async () => {
  const ref: ClusterRef = { subscriptionId: fleet.subscriptionId, resourceGroup: 'auth-rg', name: 'audited' };
  const keys = generateAgentKeyPair();
  const put = await fleet.arm.put(
    ref,
    {
      location: 'westeurope',
      identity: { type: 'SystemAssigned' },
      properties: { agentPublicKeyCertificate: keys.publicKey },
    },
    { authorization: await bearer('alice@contoso.com') },
  );
  expect(put.status, put.text).toBe(201);
  expect(put.body.systemData).toMatchObject({ createdBy: 'alice@contoso.com', createdByType: 'User' });
  const patched = await fleet.arm.patch(
    ref,
    { tags: { owner: 'bob' } },
    { authorization: await bearer('bob@contoso.com') },
  );
  expect(patched.status, patched.text).toBe(200);
  expect(patched.body.systemData).toMatchObject({
    createdBy: 'alice@contoso.com',
    lastModifiedBy: 'bob@contoso.com',
    lastModifiedByType: 'User',
  });
});
