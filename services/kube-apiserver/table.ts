/**
 * Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`): what kubectl asks for
 * so that `kubectl get pods` shows READY and STATUS, not just NAME and AGE. The columns are the real
 * apiserver's for pods, deployments and nodes; other kinds get NAME and AGE, as kubectl prints them.
 */
import type { KubeObject } from '../../agent-runtime/kube-client.js';

export interface TableColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'date';
  readonly format: string;
  readonly description: string;
  readonly priority: number;
}

/** Whether the client asked for a Table (kubectl does; client libraries do not). */
export function wantsTable(accept: readonly string[]): boolean {
  return accept
    .join(',')
    .split(',')
    .some((part) => /;\s*as=Table/.test(part) && /g=meta\.k8s\.io/.test(part));
}

/** kubectl's short durations: 45s, 5m2s, 3h4m, 2d5h, 400d. */
export function humanAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 > 0 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return `${h}h${m % 60 > 0 ? `${m % 60}m` : ''}`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return `${d}d${h % 24 > 0 ? `${h % 24}h` : ''}`;
  return `${d}d`;
}

const col = (name: string, description: string, type: TableColumn['type'] = 'string'): TableColumn => ({
  name,
  type,
  format: name === 'Name' ? 'name' : '',
  description,
  priority: 0,
});

type Row = (o: KubeObject, age: string) => unknown[];

interface Printer {
  readonly columns: readonly TableColumn[];
  readonly row: Row;
}

const record = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};

function podRow(o: KubeObject, age: string): unknown[] {
  const status = record(o['status']);
  const containers = Array.isArray(status['containerStatuses'])
    ? (status['containerStatuses'] as Record<string, unknown>[])
    : [];
  const ready = containers.filter((c) => c['ready'] === true).length;
  const restarts = containers.reduce((n, c) => n + (Number(c['restartCount']) || 0), 0);
  const waiting = containers
    .map((c) => record(record(c['state'])['waiting'])['reason'])
    .find((r) => typeof r === 'string');
  const phase = typeof status['phase'] === 'string' ? status['phase'] : 'Unknown';
  return [o.metadata.name, `${ready}/${containers.length}`, waiting ?? phase, restarts, age];
}

function deploymentRow(o: KubeObject, age: string): unknown[] {
  const spec = record(o['spec']);
  const status = record(o['status']);
  const n = (v: unknown): number => (typeof v === 'number' ? v : 0);
  const replicas = typeof spec['replicas'] === 'number' ? spec['replicas'] : 1;
  return [
    o.metadata.name,
    `${n(status['readyReplicas'])}/${replicas}`,
    n(status['updatedReplicas']),
    n(status['availableReplicas']),
    age,
  ];
}

function nodeRow(o: KubeObject, age: string): unknown[] {
  const status = record(o['status']);
  const conditions = Array.isArray(status['conditions'])
    ? (status['conditions'] as Record<string, unknown>[])
    : [];
  const ready = conditions.find((c) => c['type'] === 'Ready')?.['status'] === 'True';
  const labels = o.metadata.labels ?? {};
  const roles = Object.keys(labels)
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length));
  const version = record(status['nodeInfo'])['kubeletVersion'] ?? '';
  return [
    o.metadata.name,
    ready ? 'Ready' : 'NotReady',
    roles.length > 0 ? roles.join(',') : '<none>',
    age,
    version,
  ];
}

const PRINTERS: Record<string, Printer> = {
  Pod: {
    columns: [
      col('Name', 'Name of the pod'),
      col('Ready', 'Ready containers / containers'),
      col('Status', 'Phase, or why a container is waiting'),
      col('Restarts', 'Container restarts', 'integer'),
      col('Age', 'Time since creation'),
    ],
    row: podRow,
  },
  Deployment: {
    columns: [
      col('Name', 'Name of the deployment'),
      col('Ready', 'Ready replicas / desired replicas'),
      col('Up-to-date', 'Replicas with the current template', 'integer'),
      col('Available', 'Available replicas', 'integer'),
      col('Age', 'Time since creation'),
    ],
    row: deploymentRow,
  },
  Node: {
    columns: [
      col('Name', 'Name of the node'),
      col('Status', 'Ready condition'),
      col('Roles', 'node-role labels'),
      col('Age', 'Time since creation'),
      col('Version', 'Kubelet version'),
    ],
    row: nodeRow,
  },
};

const DEFAULT_PRINTER: Printer = {
  columns: [col('Name', 'Name of the object'), col('Age', 'Time since creation')],
  row: (o, age) => [o.metadata.name, age],
};

/** A `meta.k8s.io/v1` Table of `items` (each row carries its object, as `includeObject=Object`). */
export function toTable(
  kind: string,
  items: readonly KubeObject[],
  resourceVersion: string,
  nowMs: number,
): Record<string, unknown> {
  const printer = PRINTERS[kind] ?? DEFAULT_PRINTER;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: printer.columns,
    rows: items.map((o) => {
      const created = Date.parse(o.metadata.creationTimestamp ?? '');
      return {
        cells: printer.row(o, Number.isFinite(created) ? humanAge(nowMs - created) : '<unknown>'),
        object: o,
      };
    }),
  };
}
