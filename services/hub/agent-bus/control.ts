/**
 * The hub's NATS boundary with the agents (outbound): control messages to one cluster's agents
 * (`disconnect` on DELETE, `config-changed` to make them pull). Built from the connection alone, so the
 * connected clusters and configuration can publish before the agent bus (which needs both) exists.
 */
import type { NatsConnection } from 'nats';
import {
  controlMessageSchema,
  encodeMessage,
  subjects,
  type ClusterRef,
  type ControlMessage,
} from '../../../contract/index.js';

export type PublishControl = (ref: ClusterRef, message: ControlMessage) => void;

export function controlPublisher(nc: NatsConnection): PublishControl {
  return (ref, message) => {
    // Validate our own output too: the contract is checked on both sides.
    const checked = controlMessageSchema.parse(message);
    nc.publish(subjects.control(ref), encodeMessage(checked));
  };
}
