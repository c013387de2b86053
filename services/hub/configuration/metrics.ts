/**
 * Configuration metrics on the hub's registry. Labels are bounded: provisioning and compliance
 * states are fixed sets, `resource` is extension | fluxConfiguration.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  COMPLIANCE_STATES,
  SOURCE_CONTROL_COMPLIANCE_STATES,
  type ComplianceState,
} from '../../../contract/index.js';
import {
  CONFIG_PROVISIONING_STATES,
  type ConfigProvisioningState,
  type SourceControlComplianceState,
} from './records.js';

export interface ConfigurationCounts {
  extensionsByState: Map<ConfigProvisioningState, number>;
  fluxByCompliance: Map<ComplianceState, number>;
  sourceControlByCompliance: Map<SourceControlComplianceState, number>;
}

export interface ConfigurationMetrics {
  timedOut: Counter<'resource'>;
  protectedSettingsExpired: Counter;
}

export function createConfigurationMetrics(
  registry: Registry,
  count: () => ConfigurationCounts | undefined,
): ConfigurationMetrics {
  new Gauge({
    name: 'arcfleet_hub_extensions',
    help: 'Extensions (Microsoft.KubernetesConfiguration/extensions) by provisioningState',
    labelNames: ['provisioning_state'],
    registers: [registry],
    collect() {
      const c = count();
      for (const s of CONFIG_PROVISIONING_STATES)
        this.set({ provisioning_state: s }, c?.extensionsByState.get(s) ?? 0);
    },
  });
  new Gauge({
    name: 'arcfleet_hub_flux_configurations',
    help: 'Flux configurations by complianceState',
    labelNames: ['compliance_state'],
    registers: [registry],
    collect() {
      const c = count();
      for (const s of COMPLIANCE_STATES) this.set({ compliance_state: s }, c?.fluxByCompliance.get(s) ?? 0);
    },
  });
  new Gauge({
    name: 'arcfleet_hub_source_control_configurations',
    help: 'Legacy Flux v1 source control configurations by complianceStatus.complianceState',
    labelNames: ['compliance_state'],
    registers: [registry],
    collect() {
      const c = count();
      for (const s of SOURCE_CONTROL_COMPLIANCE_STATES)
        this.set({ compliance_state: s }, c?.sourceControlByCompliance.get(s) ?? 0);
    },
  });
  return {
    timedOut: new Counter({
      name: 'arcfleet_hub_configuration_operations_timed_out_total',
      help: 'Extension / Flux configuration operations the agents did not answer in time (AgentResponseTimeout)',
      labelNames: ['resource'],
      registers: [registry],
    }),
    protectedSettingsExpired: new Counter({
      name: 'arcfleet_hub_protected_settings_expired_total',
      help: 'Extensions and source control configurations whose protected settings were dropped unfetched after ARCFLEET_PROTECTED_SETTINGS_HOLD',
      registers: [registry],
    }),
  };
}
