/**
 * `az connectedk8s connect` for an emulated cluster: key pair, PUT of the connectedClusters resource,
 * then the onboarding secret in the cluster store (the helm install), dropping any old identity.
 */
import { ArcError, ERROR_CODES, resourceId, type ClusterState } from '../contract/index.js';
import { generateAgentKeyPair } from '../platform/identity.js';
import { mapLimit } from '../platform/limit.js';
import { SECRET_IDENTITY, SECRET_ONBOARDING, type ClusterStore } from '../agent-runtime/cluster-store.js';
import { BOOTSTRAP_TOKEN_HEADER, type HubClient, type PutResult } from './clients/hub-client.js';

/**
 * Creates the resource groups `states` live in that do not exist yet (ARM refuses a resource under a
 * missing group), each in the location of its first cluster; resolves with how many it created.
 */
export async function createResourceGroups(
  client: HubClient,
  states: readonly ClusterState[],
): Promise<number> {
  const groups = new Map<string, ClusterState>();
  for (const s of states) {
    const k = `${s.subscriptionId.toLowerCase()}/${s.resourceGroup.toLowerCase()}`;
    if (!groups.has(k)) groups.set(k, s);
  }
  const created = await mapLimit([...groups.values()], 8, (s) =>
    client.ensureResourceGroup(s.subscriptionId, s.resourceGroup, s.location),
  );
  return created.filter(Boolean).length;
}

export async function connectCluster(
  client: HubClient,
  store: ClusterStore,
  state: ClusterState,
): Promise<PutResult> {
  const keys = generateAgentKeyPair();
  const result = await client.putCluster(state, {
    location: state.location,
    tags: state.tags,
    identity: { type: 'SystemAssigned' },
    properties: {
      agentPublicKeyCertificate: keys.publicKey,
      distribution: state.distribution,
      distributionVersion: state.distributionVersion,
      infrastructure: state.infrastructure,
      // `az connectedk8s connect --disable-auto-upgrade` sets the Helm value and the resource's profile.
      arcAgentProfile: { agentAutoUpgrade: state.autoUpdate ? 'Enabled' : 'Disabled' },
    },
  });
  if (!result.bootstrapToken)
    throw new ArcError(
      ERROR_CODES.InternalServerError,
      `PUT of ${state.name} returned ${result.status} without the ${BOOTSTRAP_TOKEN_HEADER} header`,
    );
  await store.deleteSecret(state.name, SECRET_IDENTITY);
  await store.writeOnboarding(state.name, {
    resourceId: resourceId(state),
    privateKeyPem: keys.privateKeyPem,
    publicKey: keys.publicKey,
    bootstrapToken: result.bootstrapToken,
    hubUrl: client.baseUrl,
    ...(result.bootstrapJwt === undefined ? {} : { bootstrapJwt: result.bootstrapJwt }),
  });
  return result;
}

/** `az connectedk8s delete`: the resource goes, and so does the agents' install (the secrets). */
export async function disconnectCluster(
  client: HubClient,
  store: ClusterStore,
  state: ClusterState,
): Promise<number> {
  const status = await client.deleteCluster(state);
  await store.deleteSecret(state.name, SECRET_ONBOARDING);
  await store.deleteSecret(state.name, SECRET_IDENTITY);
  return status;
}
