/**
 * The live fleet page in a real browser (Debian `chromium`, driven by playwright-core), against a
 * fleet of 50 started by the launcher (`startFleet`, as `arcfleet up` runs it, egress gateway
 * included): the page reaches 50 Connected; cutting one cluster's egress from the page turns its tile
 * Offline, restoring it from the page turns it Connected again. Screenshots are saved under
 * test-artifacts/ (CI keeps them).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type FleetHandle } from '../../fleet/index.js';
import { FAST_TIMINGS } from '../helpers/fleet.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { ENV } from '../../platform/settings.js';

const CLUSTERS = 50;
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const CHROMIUM = process.env.ARCFLEET_CHROMIUM ?? '/usr/bin/chromium';

let dataDir: string;
let fleet: FleetHandle;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: this browser test needs it. Run \`npm run setup\` as root (installs the ` +
        'Debian package `chromium`), `apt-get install -y chromium`, or set ARCFLEET_CHROMIUM to a Chromium binary.',
    );
  await mkdir(ARTIFACTS, { recursive: true });
  dataDir = await mkdtemp(join(tmpdir(), 'arcfleet-page-'));
  fleet = await startFleet({
    dataDir,
    clusters: CLUSTERS,
    timeScale: 60,
    // Upgrade checks every 10 simulated minutes (10 s here) for the rollout; only releases published here.
    env: { ...FAST_TIMINGS, [ENV.upgradeCheckInterval]: '10m', [ENV.agentReleaseCadence]: 'off' },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await fleet?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const connectedCount = (): Promise<string | null> =>
  page
    .locator('#count-Connected')
    .getAttribute('data-count', { timeout: 1000 })
    .catch(() => null);

/** The page's own view of one tile's status. */
function tileStatusOf(name: string): () => Promise<string | undefined> {
  return () =>
    page.evaluate(
      (n) => (globalThis as unknown as { arcfleet: { status(n: string): string } }).arcfleet.status(n),
      name,
    );
}

describe('live fleet page', () => {
  it('shows the fleet reaching 50 Connected', async () => {
    await page.goto(fleet.pageUrl);
    await expect.poll(connectedCount, { timeout: 60_000, interval: 250 }).toBe(String(CLUSTERS));
    await expect.poll(() => page.locator('#shown').textContent()).toBe(`${CLUSTERS} of ${CLUSTERS} shown`);
    await page.screenshot({ path: join(ARTIFACTS, 'fleet-page-connected.png'), fullPage: true });
  });

  it('cuts a cluster from the page: its tile goes Offline; restores it: Connected again', async () => {
    const name = fleet.clusters[7]?.name ?? '';
    await page.fill('#find', name);
    await page.press('#find', 'Enter');
    await expect.poll(() => page.locator('#detail-name').textContent()).toBe(name);
    await expect
      .poll(() => page.locator('#detail-json').textContent(), { timeout: 5000 })
      .toContain(`"name": "${name}"`);
    await page.click('#cut-one');
    await expect.poll(() => page.locator('#chaos-result').textContent()).toBe('cut: 1 cluster(s)');
    const tileStatus = tileStatusOf(name);
    await expect.poll(tileStatus, { timeout: 30_000, interval: 250 }).toBe('Offline');
    await expect.poll(() => page.locator('#detail-status').getAttribute('data-status')).toBe('Offline');
    await expect.poll(() => page.locator('#count-Offline').getAttribute('data-count')).toBe('1');
    await expect.poll(() => page.locator('#events').textContent()).toContain(`${name}: Connected → Offline`);
    await page.screenshot({ path: join(ARTIFACTS, 'fleet-page-offline.png'), fullPage: true });

    await page.click('#restore-one');
    await expect.poll(tileStatus, { timeout: 30_000, interval: 250 }).toBe('Connected');
    await expect.poll(connectedCount, { timeout: 10_000 }).toBe(String(CLUSTERS));
    await expect.poll(() => page.locator('#events').textContent()).toContain(`${name}: Offline → Connected`);
    await page.screenshot({ path: join(ARTIFACTS, 'fleet-page-restored.png'), fullPage: true });
  });

  it('cuts one endpoint class of a cluster: the gateway holds a rule for its agent alone', async () => {
    const name = fleet.clusters[8]?.name ?? '';
    await page.fill('#find', name);
    await page.press('#find', 'Enter');
    await expect.poll(() => page.locator('#detail-name').textContent()).toBe(name);
    await page.selectOption('#chaos-reach', 'relay');
    await page.click('#cut-one');
    await expect.poll(() => page.locator('#chaos-result').textContent()).toBe('cut (relay): 1 cluster(s)');
    const rules = (await (await fetch(`${fleet.egressApiUrl}/v1/rules`)).json()) as {
      value: { cluster: string; agent?: string; mode: { kind: string } }[];
    };
    expect(rules.value).toEqual([
      expect.objectContaining({ cluster: name, agent: 'clusterconnect-agent', mode: { kind: 'drop' } }),
    ]);
    await page.click('#restore-one');
    await expect
      .poll(() => page.locator('#chaos-result').textContent())
      .toBe('restore (relay): 1 cluster(s)');
    await expect.poll(tileStatusOf(name), { timeout: 10_000 }).toBe('Connected');
  });

  it('shows the rollout of a published agent release: clusters by version, moving to the new one', async () => {
    const versionCounts = (): Promise<Record<string, string | null>> =>
      page.locator('#versions .chip[data-version]').evaluateAll((els) =>
        Object.fromEntries(
          els.map((el) => {
            const data = (el as unknown as { dataset: Record<string, string | undefined> }).dataset;
            return [data['version'] ?? '', data['count'] ?? null];
          }),
        ),
      );
    const total = (c: Record<string, string | null>) => Object.values(c).reduce((n, v) => n + Number(v), 0);
    await expect.poll(async () => total(await versionCounts()), { timeout: 30_000 }).toBe(CLUSTERS);
    expect(Object.keys(await versionCounts()).length).toBeGreaterThan(1);
    const release = await fleet.client.publishAgentRelease({ bump: 'minor' });
    // Every cluster with auto-upgrade moves; the generated ones behind the latest are pinned and stay.
    const auto = fleet.clusters.filter((c) => c.autoUpdate).length;
    expect(auto).toBeGreaterThan(0);
    expect(auto).toBeLessThan(CLUSTERS);
    await expect
      .poll(async () => (await versionCounts())[release.version], { timeout: 60_000, interval: 500 })
      .toBe(String(auto));
    expect(total(await versionCounts())).toBe(CLUSTERS);
    // The pinned clusters at 1.19 are now more than N-2 minors behind (1.22, 1.21 and 1.20 supported).
    const behind = fleet.clusters.filter((c) => c.agentVersion.startsWith('1.19.')).length;
    expect(behind).toBeGreaterThan(0);
    await expect
      .poll(() => page.locator('#out-of-support').getAttribute('data-count'), { timeout: 10_000 })
      .toBe(String(behind));
    await page.screenshot({ path: join(ARTIFACTS, 'fleet-page-rollout.png'), fullPage: true });
  });
});
