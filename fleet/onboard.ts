/**
 * `az connectedk8s connect` for an emulated cluster: key pair, PUT of the connectedClusters resource,
 * then the onboarding secret in the cluster store (the helm install), dropping any old identity.
 */
import { ArcError, ERROR_CODES, resourceId, type ClusterState } from '../contract/index.js';
import { generateAgentKeyPair } from '../platform/identity.js';
import { SECRET_IDENTITY, SECRET_ONBOARDING, type ClusterStore } from '../agent-runtime/cluster-store.js';
import { BOOTSTRAP_TOKEN_HEADER, type HubClient, type PutResult } from './clients/hub-client.js';

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
