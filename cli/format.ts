/** Plain-text output: aligned tables, key/value views, times. */
import { outOfSupport, type AgentSupport, type ConnectedCluster } from '../contract/index.js';

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

const dash = (v: unknown): string => (v === undefined || v === null || v === '' ? '-' : String(v));

/** The agent version, marked when it is out of support (more than N-2 minors behind). */
function agentCell(version: string | null | undefined, support: AgentSupport | undefined): string {
  if (version === undefined || version === null || version === '') return '-';
  return support && outOfSupport(version, support) ? `${version} (out of support)` : version;
}

export function clustersTable(clusters: readonly ConnectedCluster[], support?: AgentSupport): string {
  return table(
    [
      'NAME',
      'LOCATION',
      'DISTRIBUTION',
      'INFRA',
      'K8S',
      'NODES',
      'CORES',
      'AGENT',
      'STATUS',
      'PROVISIONING',
      'LAST CONNECTED',
    ],
    clusters.map((c) => [
      c.name,
      c.location,
      dash(c.properties.distribution),
      dash(c.properties.infrastructure),
      dash(c.properties.kubernetesVersion),
      dash(c.properties.totalNodeCount),
      dash(c.properties.totalCoreCount),
      agentCell(c.properties.agentVersion, support),
      c.properties.connectivityStatus,
      c.properties.provisioningState,
      dash(c.properties.lastConnectivityTime),
    ]),
  );
}

export function clusterView(c: ConnectedCluster): string {
  const rows: [string, string][] = [
    ['name', c.name],
    ['id', c.id],
    ['location', c.location],
    [
      'tags',
      Object.entries(c.tags ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(', ') || '-',
    ],
    ['identity', `${c.identity.type}${c.identity.principalId ? ` (${c.identity.principalId})` : ''}`],
  ];
  for (const [k, v] of Object.entries(c.properties)) {
    if (k === 'agentPublicKeyCertificate' && typeof v === 'string') rows.push([k, `${v.slice(0, 24)}…`]);
    else rows.push([k, typeof v === 'object' && v !== null ? JSON.stringify(v) : dash(v)]);
  }
  rows.push(['createdAt', c.systemData.createdAt], ['lastModifiedAt', c.systemData.lastModifiedAt]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

export function clockTime(date = new Date()): string {
  return date.toISOString().slice(11, 19);
}
