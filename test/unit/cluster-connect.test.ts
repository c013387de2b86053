import { describe, expect, it } from 'vitest';
import { type ClusterUserClaims } from '../../contract/index.js';
import {
  BUILTIN_EXTENSION_CATALOG,
  compareVersions,
  findCatalogEntry,
  targetVersion,
} from '../../platform/extension-catalog.js';
import { checkClusterUserToken } from '../../platform/cluster-user-token.js';
import { IdentityAuthority } from '../../platform/identity.js';
import { sourceRevision } from '../../services/config-agent/flux-reconciler.js';

const authority = new IdentityAuthority(IdentityAuthority.generatePem());
const other = new IdentityAuthority(IdentityAuthority.generatePem());
const KEY = 'sub-1.rg-1.edge-1';

function token(a: IdentityAuthority, overrides: Partial<ClusterUserClaims> = {}): string {
  const claims: ClusterUserClaims = {
    v: 1,
    typ: 'cluster-user',
    iss: 'arcfleet-hub',
    aud: KEY,
    sub: 'alice',
    groups: ['ops'],
    iat: 1_000,
    exp: 10_000,
    jti: 'j1',
    ...overrides,
  };
  return a.signClaims(claims);
}

describe('cluster-user tokens (kube-aad-proxy role)', () => {
  const spki = authority.publicKeySpki();

  it('accepts a token the hub signed for this cluster, before it expires', () => {
    const r = checkClusterUserToken(`Bearer ${token(authority)}`, spki, KEY, 5_000);
    expect(r).toMatchObject({ ok: true, claims: { sub: 'alice', groups: ['ops'] } });
  });

  it('refuses a missing, malformed, foreign-signed or expired token with 401', () => {
    expect(checkClusterUserToken(undefined, spki, KEY, 5_000)).toMatchObject({ ok: false, status: 401 });
    expect(checkClusterUserToken('Bearer not-a-token', spki, KEY, 5_000)).toMatchObject({
      ok: false,
      status: 401,
    });
    expect(checkClusterUserToken(`Bearer ${token(other)}`, spki, KEY, 5_000)).toMatchObject({
      ok: false,
      status: 401,
    });
    const expired = checkClusterUserToken(`Bearer ${token(authority)}`, spki, KEY, 10_000);
    expect(expired).toMatchObject({ ok: false, status: 401, message: expect.stringContaining('expired') });
    // A tampered body no longer matches its signature.
    const [body, sig] = token(authority).split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(body ?? '', 'base64url').toString()), sub: 'root' }),
    ).toString('base64url');
    expect(checkClusterUserToken(`Bearer ${forged}.${sig ?? ''}`, spki, KEY, 5_000)).toMatchObject({
      ok: false,
      status: 401,
    });
  });

  it('refuses an authentic token of another cluster with 403', () => {
    const r = checkClusterUserToken(
      `Bearer ${token(authority, { aud: 'sub-1.rg-1.edge-2' })}`,
      spki,
      KEY,
      5_000,
    );
    expect(r).toMatchObject({ ok: false, status: 403 });
  });

  it('cannot check anything without the issuer key', () => {
    expect(checkClusterUserToken(`Bearer ${token(authority)}`, undefined, KEY, 5_000)).toMatchObject({
      ok: false,
      status: 401,
    });
  });
});

describe('extension catalog and versions', () => {
  const flux = findCatalogEntry(BUILTIN_EXTENSION_CATALOG, 'Microsoft.Flux');
  if (!flux) throw new Error('microsoft.flux missing from the catalog');

  it('compares versions numerically', () => {
    expect(compareVersions('1.10.0', '1.9.9')).toBeGreaterThan(0);
    expect(compareVersions('1.2.3', '1.2.3')).toBe(0);
  });

  it('orders pre-releases before their release, and upgrades a pre-release to it', () => {
    expect(compareVersions('1.15.0-rc.1', '1.15.0')).toBeLessThan(0);
    expect(compareVersions('1.15.0-rc.2', '1.15.0-rc.10')).toBeLessThan(0);
    expect(compareVersions('1.15.0-rc.1', '1.14.9')).toBeGreaterThan(0);
    const entry = { ...flux, releaseTrains: { Preview: ['1.15.0', '1.15.0-rc.1', '1.14.1'] } };
    const auto = { releaseTrain: 'Preview', autoUpgradeMinorVersion: true, version: null };
    expect(targetVersion(entry, auto, '1.15.0-rc.1')).toBe('1.15.0');
    expect(targetVersion(entry, auto, null)).toBe('1.15.0');
  });

  it('installs the newest of the train, upgrades minor versions only, pins without auto-upgrade', () => {
    const auto = { releaseTrain: 'stable', autoUpgradeMinorVersion: true, version: null };
    expect(targetVersion(flux, auto, null)).toBe('1.14.1');
    expect(targetVersion(flux, auto, '1.11.3')).toBe('1.14.1');
    expect(targetVersion(flux, { ...auto, releaseTrain: 'Preview' }, null)).toBe('1.15.0');
    expect(
      targetVersion(flux, { ...auto, autoUpgradeMinorVersion: false, version: '1.12.1' }, '1.14.1'),
    ).toBe('1.12.1');
    expect(
      targetVersion(flux, { ...auto, autoUpgradeMinorVersion: false, version: '9.9.9' }, null),
    ).toBeUndefined();
    expect(targetVersion(flux, { ...auto, releaseTrain: 'Nightly' }, null)).toBeUndefined();
  });

  it('never crosses a major version on auto-upgrade', () => {
    const entry = { ...flux, releaseTrains: { Stable: ['1.0.0', '1.4.0', '2.0.0'] } };
    expect(
      targetVersion(entry, { releaseTrain: 'Stable', autoUpgradeMinorVersion: true, version: null }, '1.0.0'),
    ).toBe('1.4.0');
  });
});

describe('the emulated Flux source', () => {
  it('resolves the same URL and ref to the same commit, and another ref to another', () => {
    const a = sourceRevision({ url: 'https://example.com/repo', repositoryRef: { branch: 'main' } });
    expect(a).toEqual(sourceRevision({ url: 'https://example.com/repo', repositoryRef: { branch: 'main' } }));
    expect(a.revision).toMatch(/^main@sha1:[0-9a-f]{40}$/);
    expect(
      sourceRevision({ url: 'https://example.com/repo', repositoryRef: { branch: 'dev' } }).commit,
    ).not.toBe(a.commit);
    expect(
      sourceRevision({ url: 'https://example.com/repo', repositoryRef: { commit: 'abc123' } }).commit,
    ).toBe('abc123');
  });
});
