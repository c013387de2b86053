/**
 * `arcfleet token`: a bearer token for the fleet's ARM API, as `az account get-access-token` prints one
 * for Azure: signed with the fleet issuer's key under `<data-dir>/issuer` (platform/fleet-issuer.ts), for
 * `--user` with `--groups`. What the official SDKs get from a credential that returns it (README).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ArcError, ERROR_CODES } from '../../contract/index.js';
import { FLEET_OWNER, issuerDir } from '../../fleet/tokens.js';
import { DEFAULT_DATA_DIR } from '../../fleet/index.js';
import { ISSUER_FILES, TokenIssuer, ARM_AUDIENCES } from '../../platform/fleet-issuer.js';
import { parseDuration } from '../../platform/duration.js';

export interface TokenOptions {
  readonly dataDir: string;
  readonly user: string;
  readonly groups: readonly string[];
  readonly lifetimeSec: number;
}

/** The token `arcfleet token` prints; NotFound when the data dir holds no issuer (no fleet started there). */
export async function fleetToken(o: TokenOptions): Promise<{ accessToken: string; expiresOn: string }> {
  const keyFile = resolve(issuerDir(o.dataDir), ISSUER_FILES.key);
  const issuer = await TokenIssuer.open(keyFile).catch((err: unknown) => {
    throw new ArcError(
      ERROR_CODES.NotFound,
      `no token issuer in ${o.dataDir} (${keyFile}: ${err instanceof Error ? err.message : String(err)}); start a fleet there with \`arcfleet up\``,
      { status: 404 },
    );
  });
  const nowSec = Math.floor(Date.now() / 1000);
  const accessToken = await issuer.issue({
    user: o.user,
    groups: o.groups,
    lifetimeSec: o.lifetimeSec,
    nowSec,
  });
  return { accessToken, expiresOn: new Date((nowSec + o.lifetimeSec) * 1000).toISOString() };
}

export function registerTokenCommand(program: Command, print: (text: string) => void): void {
  program
    .command('token')
    .description('print a bearer token for the fleet ARM API (az account get-access-token)')
    .option('--data-dir <dir>', 'fleet data directory', DEFAULT_DATA_DIR)
    .option('--user <upn>', 'the caller (upn and name claims)', FLEET_OWNER)
    .option('--groups <g,...>', 'the caller groups (groups claim), comma-separated', '')
    .option('--lifetime <duration>', 'how long the token is valid (real time)', '1h')
    .option('-o, --output <format>', 'tsv: the token alone; json: accessToken, expiresOn, audience', 'tsv')
    .action(
      async (o: { dataDir: string; user: string; groups: string; lifetime: string; output: string }) => {
        const lifetimeSec = Math.ceil(parseDuration(o.lifetime, '--lifetime') / 1000);
        const groups = o.groups
          .split(',')
          .map((g) => g.trim())
          .filter((g) => g !== '');
        const t = await fleetToken({ dataDir: resolve(o.dataDir), user: o.user, groups, lifetimeSec });
        print(
          o.output === 'json'
            ? JSON.stringify({ ...t, tokenType: 'Bearer', audience: ARM_AUDIENCES[0] }, null, 2)
            : t.accessToken,
        );
      },
    );
}
