/**
 * Releases published by hand (`arcfleet release publish`), one KV entry each in the hub's releases
 * bucket: Arc agent versions, and versions of an extension type on a release train. What the built-in
 * catalogues and the agent cadence offer is derived, never stored.
 */
export interface ReleaseRecord {
  v: 1;
  /** `agent.<version>` or `ext.<type>.<train>.<version>`, each token escaped for KV. */
  key: string;
  /** Absent in the first records: an agent release. */
  kind?: 'agent' | 'extension';
  version: string;
  /** Simulated epoch ms. */
  releasedAtMs: number;
  publishedBy: string;
  /** kind extension: the extension type (lower-case) and its release train. */
  extensionType?: string;
  releaseTrain?: string;
}

/** A KV key token: anything but letters, digits, `-` and `_` becomes `_`. */
function token(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_-]/g, '_');
}

export function agentReleaseKey(version: string): string {
  return `agent.${token(version)}`;
}

export function extensionReleaseKey(extensionType: string, releaseTrain: string, version: string): string {
  return `ext.${token(extensionType)}.${token(releaseTrain)}.${token(version)}`;
}
