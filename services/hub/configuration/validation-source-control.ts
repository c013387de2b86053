/**
 * Validation of the ARM request body of legacy `Microsoft.KubernetesConfiguration/sourceControlConfigurations`
 * (Flux v1, PUT only: the legacy API has no PATCH). Read-only properties sent back from a GET are
 * dropped; names the operator's Kubernetes objects take must be lower-case RFC 1123 names.
 */
import { z } from 'zod';
import { ArcError, ERROR_CODES, isSshRepositoryUrl } from '../../../contract/index.js';
import { k8sName, parseWith, propertiesOf, settings, writable } from './validation-shared.js';

/** What Flux v1 clones: https://, http://, ssh:// or the scp-like `git@host:path`. */
const REPOSITORY_URL = /^((https?|ssh):\/\/[^\s/]+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:\S+)/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const sourceControlPutSchema = z.object({
  repositoryUrl: z
    .string()
    .min(1, 'repositoryUrl is required')
    .max(2048)
    .regex(REPOSITORY_URL, 'must be an https://, http://, ssh:// or git@host:path repository URL'),
  operatorNamespace: k8sName.nullish(),
  operatorInstanceName: k8sName.nullish(),
  operatorType: z.literal('Flux').nullish(),
  operatorParams: z.string().max(4096).nullish(),
  operatorScope: z.enum(['cluster', 'namespace']).nullish(),
  configurationProtectedSettings: settings.nullish(),
  sshKnownHostsContents: z
    .string()
    .max(64 * 1024)
    .regex(BASE64, 'must be base64')
    .nullish(),
  // 2019-11-01-preview defined it as the strings "true" / "false".
  enableHelmOperator: z
    .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
    .nullish(),
  helmOperatorProperties: z
    .object({
      chartVersion: z.string().max(64).nullish(),
      chartValues: z
        .string()
        .max(64 * 1024)
        .nullish(),
    })
    .nullish(),
});
export type SourceControlPut = z.infer<typeof sourceControlPutSchema>;

export function parseSourceControlPut(body: unknown, name: string): SourceControlPut {
  const props = writable(
    propertiesOf(body, true),
    new Set(['provisioningState', 'complianceStatus', 'repositoryPublicKey']),
  );
  const put = parseWith(sourceControlPutSchema, props, 'properties');
  // The operator's objects are named after the instance, which defaults to the configuration's name.
  if (!put.operatorInstanceName && !k8sName.safeParse(name).success)
    throw new ArcError(
      ERROR_CODES.InvalidParameter,
      `Invalid value for 'properties.operatorInstanceName': the configuration name '${name}' is not a lower-case RFC 1123 name, so an operatorInstanceName is required.`,
      { status: 400, target: 'properties.operatorInstanceName' },
    );
  const key = put.configurationProtectedSettings?.sshPrivateKey;
  if (key !== undefined && !isSshRepositoryUrl(put.repositoryUrl))
    throw new ArcError(
      ERROR_CODES.InvalidParameter,
      `Invalid value for 'properties.configurationProtectedSettings': an sshPrivateKey needs an SSH repository URL, not '${put.repositoryUrl}'.`,
      { status: 400, target: 'properties.configurationProtectedSettings' },
    );
  return put;
}
