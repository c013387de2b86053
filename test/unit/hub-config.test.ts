/**
 * The configuration lifecycle with a fake clock and in-memory persistence: extensions, protected
 * settings, timeouts and recovery, the 48 h hold, Service Connector linkers, Flux compliance.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../platform/clock.js';
import {
  type ExtensionStatus,
  type SourceControlStatus,
  ArcError,
  type ConfigStatus,
  type ControlMessage,
  clusterKey,
  type ClusterRef,
  PROTOCOL_VERSION,
} from '../../contract/index.js';
import { BUILTIN_EXTENSION_CATALOG } from '../../platform/extension-catalog.js';
import { createLogger } from '../../platform/log.js';
import { AGENT_TIMEOUT_MESSAGE, evaluateDeadlines } from '../../services/hub/configuration/lifecycle.js';
import type { ClusterConfigRecord } from '../../services/hub/configuration/records.js';
import { ConfigurationService } from '../../services/hub/configuration/service.js';
import {
  parseExtensionPatch,
  parseExtensionPut,
} from '../../services/hub/configuration/validation-extension.js';
import { parseFluxPut } from '../../services/hub/configuration/validation-flux.js';
import { parseLinkerPut } from '../../services/hub/configuration/validation-linker.js';
import { parseSourceControlPut } from '../../services/hub/configuration/validation-source-control.js';
import type { ClusterRecord } from '../../services/hub/connected-clusters/projection.js';
import { ProjectionStore } from '../../services/hub/persistence/projection-store.js';
import { MemoryPersistence } from './hub-helpers.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const REF: ClusterRef = { subscriptionId: 'sub-1', resourceGroup: 'rg-1', name: 'c1' };
const KEY = clusterKey(REF);

class Memory extends MemoryPersistence<ClusterConfigRecord> {}

let clock: FakeClock;
let persistence: Memory;
let store: ProjectionStore<ClusterConfigRecord>;
let svc: ConfigurationService;
let controls: ControlMessage[];
let cluster: ClusterRecord | undefined;

function build(): void {
  store = new ProjectionStore<ClusterConfigRecord>({
    persistence,
    logger: createLogger('test', 'silent'),
    persistIntervalMs: 100,
    heartbeatPersistIntervalMs: 30_000,
  });
  svc = new ConfigurationService({
    store,
    clock,
    catalog: BUILTIN_EXTENSION_CATALOG,
    operationTimeoutMs: 10 * MIN,
    protectedSettingsHoldMs: 48 * HOUR,
    cluster: (ref) => (cluster && ref.name.toLowerCase() === cluster.ref.name ? cluster : undefined),
    publishControl: (_ref, m) => controls.push(m),
    logger: createLogger('test', 'silent'),
  });
}

beforeEach(() => {
  clock = new FakeClock();
  persistence = new Memory();
  controls = [];
  cluster = {
    key: KEY,
    ref: REF,
    provisioningState: 'Succeeded',
    connectivity: { status: 'Connected' },
    identity: { principalId: 'p-1' },
  } as unknown as ClusterRecord;
  build();
});

function extStatus(name: string, generation: number, over: Partial<ExtensionStatus> = {}): ExtensionStatus {
  return {
    name,
    generation,
    phase: 'Installed',
    currentVersion: '1.14.1',
    statuses: [],
    errorInfo: null,
    appliedConnections: [],
    ...over,
  };
}

function report(agent: 'extension-manager' | 'config-agent', body: Partial<ConfigStatus>): void {
  svc.status(
    cluster!,
    {
      v: PROTOCOL_VERSION,
      type: 'config-status',
      agent,
      sentAt: new Date(clock.now()).toISOString(),
      extensions: [],
      fluxConfigurations: [],
      sourceControlConfigurations: [],
      ...body,
    },
    'subject',
  );
}

function desiredExt(name: string) {
  return svc.desiredState(cluster!, 'extension-manager').extensions.find((e) => e.name === name);
}

function arcError(fn: () => unknown): ArcError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ArcError) return err;
    throw err;
  }
  throw new Error('expected an ArcError');
}

function putFluxExt(name = 'flux', protectedSettings?: Record<string, string>) {
  return svc.putExtension(
    REF,
    name,
    parseExtensionPut({
      properties: {
        extensionType: 'microsoft.flux',
        configurationSettings: { a: '1' },
        ...(protectedSettings ? { configurationProtectedSettings: protectedSettings } : {}),
      },
    }),
    'u',
  ).record;
}

describe('extension lifecycle', () => {
  it('create → desired state → Installed → Succeeded, and protected settings are dropped after the ack', () => {
    const r = putFluxExt('flux', { token: 's3cret' });
    expect(r.provisioningState).toBe('Creating');
    expect(r.generation).toBe(1);
    expect(controls.at(-1)).toMatchObject({ type: 'control', action: 'config-changed' });
    const d = desiredExt('flux');
    expect(d).toMatchObject({
      extensionType: 'microsoft.flux',
      releaseTrain: 'Stable',
      autoUpgradeMinorVersion: true,
      version: null,
      scope: { cluster: { releaseNamespace: 'flux-system' } },
      configurationSettings: { a: '1' },
      configurationProtectedSettings: { token: 's3cret' },
      generation: 1,
      deleting: false,
    });
    // config-agent and the other agents get no extensions.
    expect(svc.desiredState(cluster!, 'config-agent').extensions).toEqual([]);
    report('extension-manager', { extensions: [extStatus('flux', 1)] });
    const after = svc.getExtension(REF, 'flux');
    expect(after).toMatchObject({
      provisioningState: 'Succeeded',
      currentVersion: '1.14.1',
      errorInfo: null,
    });
    expect(desiredExt('flux')?.configurationProtectedSettings).toBeNull();
  });

  it('an unanswered operation fails with the real message at the deadline; a late status recovers it', () => {
    putFluxExt();
    clock.advance(10 * MIN - 1);
    svc.tick();
    expect(svc.getExtension(REF, 'flux').provisioningState).toBe('Creating');
    clock.advance(1);
    svc.tick();
    const failed = svc.getExtension(REF, 'flux');
    expect(failed.provisioningState).toBe('Failed');
    expect(failed.errorInfo).toEqual({ code: 'AgentResponseTimeout', message: AGENT_TIMEOUT_MESSAGE });
    expect(AGENT_TIMEOUT_MESSAGE).toBe('Unable to get a response from the agent in time');
    expect(failed.statuses).toEqual([
      expect.objectContaining({
        code: 'AgentResponseTimeout',
        level: 'Error',
        message: AGENT_TIMEOUT_MESSAGE,
      }),
    ]);
    // The desired state stays for the agent that comes back.
    expect(desiredExt('flux')?.generation).toBe(1);
    report('extension-manager', { extensions: [extStatus('flux', 1)] });
    expect(svc.getExtension(REF, 'flux')).toMatchObject({ provisioningState: 'Succeeded', errorInfo: null });
  });

  it('while the cluster is not connected an extension is Pending, not failed; it fails when the protected-settings hold runs out', () => {
    putFluxExt('flux', { token: 's3cret' });
    (cluster as unknown as { connectivity: { status: string } }).connectivity.status = 'Offline';
    clock.advance(10 * MIN);
    svc.tick();
    const pending = svc.getExtension(REF, 'flux');
    expect(pending.provisioningState).toBe('Creating');
    expect(pending.statuses).toEqual([
      expect.objectContaining({ code: 'Pending', displayStatus: 'Pending', level: 'Warning' }),
    ]);
    expect(pending.statuses[0]?.message).toContain('48 hours');
    clock.advance(48 * HOUR - 10 * MIN - 1);
    svc.tick();
    expect(svc.getExtension(REF, 'flux').provisioningState).toBe('Creating');
    clock.advance(1);
    svc.tick();
    expect(svc.getExtension(REF, 'flux')).toMatchObject({
      provisioningState: 'Failed',
      errorInfo: { code: 'ProtectedSettingsExpired' },
    });
  });

  it('a Pending extension gets a fresh deadline when its cluster connects again; its agents then settle it', () => {
    putFluxExt();
    (cluster as unknown as { connectivity: { status: string } }).connectivity.status = 'Offline';
    clock.advance(3 * HOUR);
    svc.tick();
    expect(svc.getExtension(REF, 'flux').statuses[0]?.displayStatus).toBe('Pending');
    (cluster as unknown as { connectivity: { status: string } }).connectivity.status = 'Connected';
    svc.tick();
    clock.advance(10 * MIN - 1);
    svc.tick();
    expect(svc.getExtension(REF, 'flux').provisioningState).toBe('Creating');
    report('extension-manager', { extensions: [extStatus('flux', 1)] });
    expect(svc.getExtension(REF, 'flux').provisioningState).toBe('Succeeded');
  });

  it('Pending with no protected settings still ends at the hold: Failed with the real message', () => {
    putFluxExt();
    (cluster as unknown as { connectivity: { status: string } }).connectivity.status = 'Offline';
    clock.advance(10 * MIN);
    svc.tick();
    clock.advance(48 * HOUR);
    svc.tick();
    expect(svc.getExtension(REF, 'flux')).toMatchObject({
      provisioningState: 'Failed',
      errorInfo: { code: 'AgentResponseTimeout', message: AGENT_TIMEOUT_MESSAGE },
    });
  });

  it('a status of an older generation does not settle the newer one', () => {
    putFluxExt();
    svc.patchExtension(
      REF,
      'flux',
      parseExtensionPatch({ properties: { configurationSettings: { b: '2' } } }),
      'u',
    );
    report('extension-manager', { extensions: [extStatus('flux', 1)] });
    expect(svc.getExtension(REF, 'flux').provisioningState).toBe('Updating');
    report('extension-manager', { extensions: [extStatus('flux', 2)] });
    expect(svc.getExtension(REF, 'flux').provisioningState).toBe('Succeeded');
  });

  it('Failed from the agent carries its errorInfo; a later auto-upgrade report updates currentVersion', () => {
    putFluxExt();
    const err = {
      code: 'InstallationFailed',
      message: 'Unable to install helm release: Error: UPGRADE Failed',
    };
    report('extension-manager', { extensions: [extStatus('flux', 1, { phase: 'Failed', errorInfo: err })] });
    expect(svc.getExtension(REF, 'flux')).toMatchObject({ provisioningState: 'Failed', errorInfo: err });
    report('extension-manager', { extensions: [extStatus('flux', 1, { currentVersion: '1.14.1' })] });
    report('extension-manager', { extensions: [extStatus('flux', 1, { currentVersion: '1.15.0' })] });
    expect(svc.getExtension(REF, 'flux')).toMatchObject({
      provisioningState: 'Succeeded',
      currentVersion: '1.15.0',
    });
  });

  it('protected settings not fetched within 48 h are dropped and the extension fails (sticky until a new write)', () => {
    putFluxExt('flux', { token: 's3cret' });
    clock.advance(48 * HOUR - 1);
    svc.tick();
    expect(svc.getExtension(REF, 'flux').errorInfo?.code).toBe('AgentResponseTimeout');
    expect(desiredExt('flux')?.configurationProtectedSettings).toEqual({ token: 's3cret' });
    clock.advance(1);
    svc.tick();
    const r = svc.getExtension(REF, 'flux');
    expect(r.provisioningState).toBe('Failed');
    expect(r.errorInfo?.code).toBe('ProtectedSettingsExpired');
    expect(r.errorInfo?.message).toMatch(/48 hours/);
    expect(desiredExt('flux')?.configurationProtectedSettings).toBeNull();
    report('extension-manager', { extensions: [extStatus('flux', 1)] });
    expect(svc.getExtension(REF, 'flux').provisioningState).toBe('Failed');
    // Sending them again starts over.
    svc.patchExtension(
      REF,
      'flux',
      parseExtensionPatch({ properties: { configurationProtectedSettings: { token: 'x' } } }),
      'u',
    );
    report('extension-manager', { extensions: [extStatus('flux', 2)] });
    expect(svc.getExtension(REF, 'flux').provisioningState).toBe('Succeeded');
  });

  it('PATCH merges settings (null deletes) and replaces the protected settings with what it sends', () => {
    putFluxExt('flux', { p1: 'a', p2: 'b' });
    svc.patchExtension(
      REF,
      'flux',
      parseExtensionPatch({
        properties: {
          configurationSettings: { a: null, b: '2' },
          configurationProtectedSettings: { p2: 'c' },
        },
      }),
      'u',
    );
    expect(desiredExt('flux')).toMatchObject({
      configurationSettings: { b: '2' },
      configurationProtectedSettings: { p2: 'c' },
    });
    // Omitted: deleted (the agent gets an empty set, not "keep yours").
    svc.patchExtension(
      REF,
      'flux',
      parseExtensionPatch({ properties: { configurationSettings: { c: '3' } } }),
      'u',
    );
    expect(desiredExt('flux')).toMatchObject({
      configurationSettings: { b: '2', c: '3' },
      configurationProtectedSettings: {},
    });
  });

  it('validates against the catalog and refuses immutable changes with the field in target', () => {
    const bad = (body: unknown) => arcError(() => svc.putExtension(REF, 'e1', parseExtensionPut(body), 'u'));
    expect(bad({ properties: { extensionType: 'nope' } })).toMatchObject({
      code: 'InvalidParameter',
      target: 'properties.extensionType',
    });
    expect(bad({ properties: { extensionType: 'microsoft.flux', releaseTrain: 'Nightly' } })).toMatchObject({
      target: 'properties.releaseTrain',
    });
    expect(bad({ properties: { extensionType: 'microsoft.flux', version: '1.11.3' } })).toMatchObject({
      target: 'properties.version',
    });
    expect(
      bad({
        properties: { extensionType: 'microsoft.flux', autoUpgradeMinorVersion: false, version: '9.9.9' },
      }),
    ).toMatchObject({ target: 'properties.version' });
    expect(
      bad({
        properties: { extensionType: 'microsoft.flux', scope: { namespace: { targetNamespace: 'x' } } },
      }),
    ).toMatchObject({ target: 'properties.scope' });
    putFluxExt('e2');
    expect(
      arcError(() =>
        svc.putExtension(
          REF,
          'e2',
          parseExtensionPut({ properties: { extensionType: 'microsoft.contoso.sample' } }),
          'u',
        ),
      ),
    ).toMatchObject({ code: 'PropertyChangeNotAllowed', target: 'properties.extensionType' });
    const pinned = svc.putExtension(
      REF,
      'sample',
      parseExtensionPut({
        properties: {
          extensionType: 'microsoft.contoso.sample',
          autoUpgradeMinorVersion: false,
          version: '0.1.0',
          scope: { namespace: {} },
        },
      }),
      'u',
    ).record;
    expect(pinned.scope).toEqual({ namespace: { targetNamespace: 'sample' } });
    expect(arcError(() => svc.getExtension({ ...REF, name: 'other' }, 'x'))).toMatchObject({
      code: 'ResourceNotFound',
      status: 404,
    });
  });

  it('delete: Deleting (writes refused with Conflict) until the agent reports Uninstalled', () => {
    putFluxExt();
    report('extension-manager', { extensions: [extStatus('flux', 1)] });
    const r = svc.deleteExtension(REF, 'flux', 'u');
    expect(r).toMatchObject({ provisioningState: 'Deleting', generation: 2 });
    expect(desiredExt('flux')).toMatchObject({ deleting: true, generation: 2 });
    expect(
      arcError(() => svc.patchExtension(REF, 'flux', parseExtensionPatch({ properties: {} }), 'u')),
    ).toMatchObject({
      code: 'Conflict',
      status: 409,
    });
    report('extension-manager', { extensions: [extStatus('flux', 2, { phase: 'Uninstalled' })] });
    expect(svc.listExtensions(REF)).toEqual([]);
    expect(svc.deleteExtension(REF, 'flux', 'u')).toBeUndefined();
  });

  it('a re-PUT without scope keeps the namespace scope; an empty protected set never expires', () => {
    const body = (extra: Record<string, unknown> = {}) =>
      parseExtensionPut({ properties: { extensionType: 'microsoft.contoso.sample', ...extra } });
    svc.putExtension(REF, 'ns', body({ scope: { namespace: { targetNamespace: 'team-a' } } }), 'u');
    const again = svc.putExtension(REF, 'ns', body(), 'u').record;
    expect(again).toMatchObject({ scope: { namespace: { targetNamespace: 'team-a' } }, generation: 2 });
    expect(arcError(() => svc.putExtension(REF, 'ns', body({ scope: { cluster: {} } }), 'u'))).toMatchObject({
      code: 'PropertyChangeNotAllowed',
      target: 'properties.scope',
    });
    report('extension-manager', { extensions: [extStatus('ns', 2, { currentVersion: '0.2.0' })] });
    svc.patchExtension(REF, 'ns', parseExtensionPatch({ properties: {} }), 'u');
    clock.advance(49 * HOUR);
    svc.tick();
    expect(svc.getExtension(REF, 'ns').errorInfo?.code).toBe('AgentResponseTimeout');
  });

  it("an Expired cluster's agents are refused", () => {
    putFluxExt();
    (cluster as unknown as { connectivity: { status: string } }).connectivity.status = 'Expired';
    expect(() => svc.desiredState(cluster!, 'extension-manager')).toThrow(/expired/);
    expect(() => report('extension-manager', { extensions: [extStatus('flux', 1)] })).toThrow(/expired/);
  });

  it('a contradictory status (Installed while deleting) settles nothing: the delete still times out', () => {
    putFluxExt();
    report('extension-manager', { extensions: [extStatus('flux', 1)] });
    svc.deleteExtension(REF, 'flux', 'u');
    report('extension-manager', { extensions: [extStatus('flux', 2)] });
    expect(svc.getExtension(REF, 'flux').provisioningState).toBe('Deleting');
    clock.advance(10 * MIN);
    svc.tick();
    expect(svc.getExtension(REF, 'flux')).toMatchObject({ provisioningState: 'Failed', deleting: true });
    // A failed delete can be retried: a new generation.
    expect(svc.deleteExtension(REF, 'flux', 'u')).toMatchObject({
      provisioningState: 'Deleting',
      generation: 3,
    });
  });

  it('only extension-manager may report extensions', () => {
    putFluxExt();
    expect(() => report('config-agent', { extensions: [extStatus('flux', 1)] })).toThrow(
      /only extension-manager/,
    );
  });

  it('persists and reloads (a hub restart keeps everything, including held protected settings)', async () => {
    putFluxExt('flux', { token: 's3cret' });
    await store.flush(true);
    build();
    await store.load();
    expect(svc.getExtension(REF, 'flux').provisioningState).toBe('Creating');
    expect(desiredExt('flux')?.configurationProtectedSettings).toEqual({ token: 's3cret' });
    await svc.removeCluster(KEY);
    expect(persistence.data.size).toBe(0);
  });

  it('a document left by a deleted cluster is not inherited by a re-created one, and is collected', async () => {
    putFluxExt();
    await store.flush(true);
    cluster = { ...cluster!, identity: { principalId: 'p-2' } } as unknown as ClusterRecord;
    expect(svc.listExtensions(REF)).toEqual([]);
    expect(svc.desiredState(cluster, 'extension-manager').extensions).toEqual([]);
    svc.tick();
    await store.flush(true);
    expect(persistence.data.size).toBe(0);
  });
});

describe('the size of a cluster’s configuration', () => {
  it('refuses (413) and undoes a write that would make the document larger than one KV value', () => {
    putFluxExt('flux', { key: 'small' });
    const before = JSON.stringify(store.get(KEY));
    const big: Record<string, string> = {};
    for (let i = 0; i < 20; i++) big[`k${i}`] = 'x'.repeat(60 * 1024);
    const err = arcError(() =>
      svc.putExtension(
        REF,
        'monitor',
        parseExtensionPut({
          properties: { extensionType: 'microsoft.azuremonitor.containers', configurationSettings: big },
        }),
        'u',
      ),
    );
    expect(err).toMatchObject({ code: 'RequestEntityTooLarge', status: 413 });
    expect(err.message).toContain('1000000 bytes');
    // Nothing changed: the stored document is as it was, the refused extension is not there.
    expect(JSON.stringify(store.get(KEY))).toBe(before);
    expect(svc.listExtensions(REF).map((e) => e.name)).toEqual(['flux']);
  });
});

describe('Service Connector linkers', () => {
  const linker = {
    properties: {
      targetService: {
        type: 'AzureResource',
        id: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/a',
      },
      authInfo: { authType: 'secret' },
    },
  };

  function installConnector(): void {
    svc.putExtension(
      REF,
      'sc-extension',
      parseExtensionPut({ properties: { extensionType: 'microsoft.servicelinker.kubernetes' } }),
      'u',
    );
  }

  it('needs the extension installed (ExtensionNotInstalled), refuses while it is updating (Conflict)', () => {
    expect(arcError(() => svc.putLinker(REF, 'l1', parseLinkerPut(linker), 'u'))).toMatchObject({
      code: 'ExtensionNotInstalled',
      status: 409,
    });
    installConnector();
    expect(arcError(() => svc.putLinker(REF, 'l1', parseLinkerPut(linker), 'u'))).toMatchObject({
      code: 'Conflict',
      status: 409,
    });
    report('extension-manager', { extensions: [extStatus('sc-extension', 1, { currentVersion: '1.2.3' })] });
    cluster!.provisioningState = 'Updating';
    expect(arcError(() => svc.putLinker(REF, 'l1', parseLinkerPut(linker), 'u'))).toMatchObject({
      code: 'Conflict',
    });
    cluster!.provisioningState = 'Succeeded';
    const l = svc.putLinker(REF, 'l1', parseLinkerPut(linker), 'u').record;
    expect(l).toMatchObject({ provisioningState: 'Accepted', scope: 'default' });
    expect(svc.validateLinker(REF, 'l1').result.isConnectionAvailable).toBe(false);
    expect(desiredExt('sc-extension')?.connections).toEqual([
      expect.objectContaining({
        name: 'l1',
        namespace: 'default',
        authType: 'secret',
        clientId: null,
        generation: 1,
      }),
    ]);
    report('extension-manager', {
      extensions: [extStatus('sc-extension', 1, { currentVersion: '1.2.3', appliedConnections: ['l1'] })],
    });
    expect(svc.getLinker(REF, 'l1').provisioningState).toBe('Succeeded');
    expect(svc.validateLinker(REF, 'l1').result.isConnectionAvailable).toBe(true);
    // Uninstalling the extension makes the connection unusable.
    svc.deleteExtension(REF, 'sc-extension', 'u');
    expect(desiredExt('sc-extension')?.connections).toEqual([]);
    report('extension-manager', { extensions: [extStatus('sc-extension', 2, { phase: 'Uninstalled' })] });
    const v = svc.validateLinker(REF, 'l1').result;
    expect(v.isConnectionAvailable).toBe(false);
    expect(v.details.find((d) => d.result === 'failure')?.description).toMatch(/not installed/);
  });

  it('workloadIdentity requires clientId', () => {
    expect(
      arcError(() =>
        parseLinkerPut({ properties: { ...linker.properties, authInfo: { authType: 'workloadIdentity' } } }),
      ),
    ).toMatchObject({ code: 'InvalidParameter', target: 'properties.authInfo.clientId' });
  });
});

describe('Flux configurations', () => {
  const body = {
    properties: {
      gitRepository: {
        url: 'https://github.com/Azure/gitops-flux2-kustomize-helm-mt',
        repositoryRef: { branch: 'main' },
      },
      kustomizations: { infra: { path: './infrastructure' }, apps: { path: './apps', dependsOn: ['infra'] } },
      configurationProtectedSettings: { sshPrivateKey: 'cHJpdmF0ZQ==' },
    },
  };

  function fluxStatus(generation: number, complianceState: 'Compliant' | 'Non-Compliant' = 'Compliant') {
    return {
      name: 'cfg',
      generation,
      deleted: false,
      complianceState,
      statuses: [],
      errorMessage: null,
      sourceSyncedCommitId: 'main@sha1:abc',
      sourceUpdatedAt: new Date(clock.now()).toISOString(),
      statusUpdatedAt: new Date(clock.now()).toISOString(),
    };
  }

  it('Pending → Compliant → new generation → Pending; Suspended when suspended; delete until deleted', () => {
    const r = svc.putFlux(REF, 'cfg', parseFluxPut(body), 'u').record;
    expect(r).toMatchObject({
      complianceState: 'Pending',
      provisioningState: 'Creating',
      namespace: 'default',
      scope: 'cluster',
    });
    const d = svc.desiredState(cluster!, 'config-agent').fluxConfigurations[0];
    expect(d).toMatchObject({
      url: body.properties.gitRepository.url,
      repositoryRef: { branch: 'main' },
      sourceKind: 'GitRepository',
      kustomizations: {
        apps: {
          path: './apps',
          dependsOn: ['infra'],
          prune: false,
          force: false,
          syncIntervalInSeconds: 600,
          timeoutInSeconds: 600,
        },
      },
    });
    expect(svc.desiredState(cluster!, 'extension-manager').fluxConfigurations).toEqual([]);
    report('config-agent', { fluxConfigurations: [fluxStatus(1)] });
    expect(svc.getFlux(REF, 'cfg')).toMatchObject({
      complianceState: 'Compliant',
      provisioningState: 'Succeeded',
      sourceSyncedCommitId: 'main@sha1:abc',
    });
    svc.patchFlux(REF, 'cfg', { suspend: true }, 'u');
    expect(svc.getFlux(REF, 'cfg')).toMatchObject({
      complianceState: 'Pending',
      provisioningState: 'Updating',
      generation: 2,
    });
    report('config-agent', { fluxConfigurations: [fluxStatus(2)] });
    expect(svc.getFlux(REF, 'cfg').complianceState).toBe('Suspended');
    svc.deleteFlux(REF, 'cfg', 'u');
    report('config-agent', { fluxConfigurations: [{ ...fluxStatus(3), deleted: true }] });
    expect(svc.listFlux(REF)).toEqual([]);
  });

  it('PATCH merges source fields and kustomizations (null deletes one); the result is validated', () => {
    svc.putFlux(REF, 'cfg', parseFluxPut(body), 'u');
    const r = svc.patchFlux(
      REF,
      'cfg',
      {
        gitRepository: { repositoryRef: { tag: 'v2' } },
        kustomizations: { apps: null, infra: { prune: true } },
      },
      'u',
    );
    expect(r.gitRepository).toMatchObject({
      url: body.properties.gitRepository.url,
      repositoryRef: { tag: 'v2' },
    });
    expect(Object.keys(r.kustomizations)).toEqual(['infra']);
    expect(r.kustomizations.infra).toMatchObject({ path: './infrastructure', prune: true });
    expect(
      arcError(() => svc.patchFlux(REF, 'cfg', { kustomizations: { x: { dependsOn: ['nope'] } } }, 'u')),
    ).toMatchObject({ target: 'properties.kustomizations.x.dependsOn' });
  });

  it('times out like extensions', () => {
    svc.putFlux(REF, 'cfg', parseFluxPut(body), 'u');
    clock.advance(10 * MIN);
    const doc = store.get(KEY)!;
    expect(
      evaluateDeadlines(doc, clock.now(), {
        operationTimeoutMs: 10 * MIN,
        protectedSettingsHoldMs: 48 * HOUR,
      }),
    ).toEqual([{ kind: 'timedOut', resource: 'fluxConfiguration', name: 'cfg' }]);
    expect(svc.getFlux(REF, 'cfg')).toMatchObject({
      provisioningState: 'Failed',
      errorMessage: AGENT_TIMEOUT_MESSAGE,
    });
  });

  it('refuses bad sources with the field in target', () => {
    const bad = (p: Record<string, unknown>) => arcError(() => parseFluxPut({ properties: p }));
    expect(bad({ gitRepository: { url: 'ftp://x', repositoryRef: { branch: 'main' } } })).toMatchObject({
      target: 'properties.gitRepository.url',
    });
    expect(
      bad({ gitRepository: { url: 'https://x/y', repositoryRef: { branch: 'main', tag: 'v1' } } }),
    ).toMatchObject({
      target: 'properties.gitRepository.repositoryRef',
    });
    expect(bad({})).toMatchObject({ target: 'properties.gitRepository' });
    expect(
      bad({
        gitRepository: { url: 'https://x/y', repositoryRef: { branch: 'main' } },
        kustomizations: { a: { dependsOn: ['b'] } },
      }),
    ).toMatchObject({ target: 'properties.kustomizations.a.dependsOn' });
  });
});

describe('legacy source control configurations (Flux v1)', () => {
  const put = (props: Record<string, unknown> = {}, name = 'legacy') =>
    svc.putSourceControl(
      REF,
      name,
      parseSourceControlPut(
        {
          properties: {
            repositoryUrl: 'git@github.com:contoso/flux-get-started',
            configurationProtectedSettings: { sshPrivateKey: 'cHJpdmF0ZQ==' },
            ...props,
          },
        },
        name,
      ),
      'u',
    );
  const status = (generation: number, over: Partial<SourceControlStatus> = {}): SourceControlStatus => ({
    name: 'legacy',
    generation,
    deleted: false,
    complianceState: 'Installed',
    lastConfigApplied: null,
    message: 'Operator installed',
    messageLevel: 'Information',
    repositoryPublicKey: 'ssh-ed25519 AAAA k@ns',
    ...over,
  });
  const desired = () => svc.desiredState(cluster!, 'config-agent').sourceControlConfigurations;

  it('is Succeeded and Pending at once, hands the protected settings to config-agent once, then reports', () => {
    const { record, created } = put();
    expect(created).toBe(true);
    expect(record).toMatchObject({
      provisioningState: 'Succeeded',
      operatorNamespace: 'default',
      operatorInstanceName: 'legacy',
      operatorScope: 'cluster',
      complianceStatus: { complianceState: 'Pending', lastConfigApplied: null },
    });
    expect(controls.at(-1)).toMatchObject({ action: 'config-changed' });
    expect(desired()[0]?.configurationProtectedSettings).toEqual({ sshPrivateKey: 'cHJpdmF0ZQ==' });
    // Extension-manager is not told about them.
    expect(svc.desiredState(cluster!, 'extension-manager').sourceControlConfigurations).toEqual([]);
    report('config-agent', { sourceControlConfigurations: [status(1)] });
    expect(svc.getSourceControl(REF, 'legacy')).toMatchObject({
      complianceStatus: { complianceState: 'Installed' },
      repositoryPublicKey: 'ssh-ed25519 AAAA k@ns',
    });
    expect(desired()[0]?.configurationProtectedSettings).toBeNull();
    const applied = new Date(clock.now()).toISOString();
    report('config-agent', {
      sourceControlConfigurations: [status(1, { complianceState: 'Compliant', lastConfigApplied: applied })],
    });
    expect(svc.getSourceControl(REF, 'legacy').complianceStatus).toMatchObject({
      complianceState: 'Compliant',
      lastConfigApplied: applied,
    });
    // A report for an older generation changes nothing; a re-PUT is Pending again.
    put({ operatorParams: '--git-readonly' });
    report('config-agent', { sourceControlConfigurations: [status(1, { complianceState: 'Failed' })] });
    expect(svc.getSourceControl(REF, 'legacy').complianceStatus.complianceState).toBe('Pending');
  });

  it('refuses changes to the operator placement, a write while deleting, and reports from other agents', () => {
    put({ operatorNamespace: 'flux' });
    expect(arcError(() => put({ operatorNamespace: 'other' }))).toMatchObject({
      code: 'PropertyChangeNotAllowed',
      status: 400,
      target: 'properties.operatorNamespace',
    });
    expect(
      arcError(() => parseSourceControlPut({ properties: { repositoryUrl: 'file:///etc' } }, 'x')),
    ).toMatchObject({ status: 400, target: 'properties.repositoryUrl' });
    expect(
      arcError(() =>
        parseSourceControlPut({ properties: { repositoryUrl: 'https://x/y' } }, 'Not_A_K8s_Name'),
      ),
    ).toMatchObject({ status: 400, target: 'properties.operatorInstanceName' });
    expect(() => report('extension-manager', { sourceControlConfigurations: [status(1)] })).toThrow(
      /only config-agent/,
    );
    expect(svc.deleteSourceControl(REF, 'legacy', 'u')?.provisioningState).toBe('Deleting');
    expect(desired()[0]).toMatchObject({ deleting: true, configurationProtectedSettings: null });
    expect(arcError(() => put({ operatorNamespace: 'flux' }))).toMatchObject({ status: 409 });
    // Only `deleted` for the deleting generation removes it.
    report('config-agent', { sourceControlConfigurations: [status(2)] });
    expect(svc.getSourceControl(REF, 'legacy').provisioningState).toBe('Deleting');
    report('config-agent', { sourceControlConfigurations: [status(2, { deleted: true })] });
    expect(svc.listSourceControl(REF)).toEqual([]);
    expect(svc.deleteSourceControl(REF, 'legacy', 'u')).toBeUndefined();
  });

  it('protected settings never fetched within the hold: Failed; an unconfirmed deletion is forgotten then', () => {
    put();
    clock.advance(47 * HOUR);
    svc.tick();
    expect(svc.getSourceControl(REF, 'legacy').complianceStatus.complianceState).toBe('Pending');
    clock.advance(1 * HOUR);
    svc.tick();
    expect(svc.getSourceControl(REF, 'legacy').complianceStatus).toMatchObject({
      complianceState: 'Failed',
      messageLevel: 'Error',
    });
    expect(desired()[0]?.configurationProtectedSettings).toBeNull();
    svc.deleteSourceControl(REF, 'legacy', 'u');
    clock.advance(48 * HOUR);
    svc.tick();
    expect(svc.listSourceControl(REF)).toEqual([]);
  });

  it('a document stored before Flux v1 configurations existed reads as having none', () => {
    putFluxExt();
    const doc = store.get(KEY) as Partial<ClusterConfigRecord>;
    delete doc.sourceControlConfigurations;
    expect(svc.listSourceControl(REF)).toEqual([]);
    expect(put().created).toBe(true);
  });
});
