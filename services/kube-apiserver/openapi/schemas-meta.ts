/**
 * Why this file: the meta/v1 definitions every kind shares (ObjectMeta, owner references, managed
 * fields, label selectors, Time). Data in schema-kit.ts's vocabulary.
 */
import { META, bool, free, int, listOf, str, strList, strMap, time, type Definitions } from './schema-kit.js';

export const META_DEFINITIONS: Definitions = {
  [`${META}Time`]: { d: 'A timestamp in RFC 3339 form, to the second.', props: {} },
  [`${META}ObjectMeta`]: {
    d: 'Metadata every persisted object has: its name, namespace, labels, annotations and bookkeeping the server sets.',
    props: {
      name: str("The object's name, unique per kind within its namespace. Cannot be changed."),
      generateName: str('A prefix the server completes with random characters when no name is given.'),
      namespace: str('The namespace the object lives in; empty for cluster-scoped kinds.'),
      selfLink: str('Deprecated; never set by the server.'),
      uid: str('The unique id the server gives the object at creation. Read-only.'),
      resourceVersion: str(
        'An opaque version the server bumps on every write; used for optimistic concurrency and watches. Read-only.',
      ),
      generation: int('A number the server bumps when the desired state (spec) changes. Read-only.', 'int64'),
      creationTimestamp: time('When the server created the object. Read-only.'),
      deletionTimestamp: time('When the object will be deleted, once deletion is requested. Read-only.'),
      deletionGracePeriodSeconds: int(
        'Seconds the object has left to terminate gracefully. Read-only.',
        'int64',
      ),
      labels: strMap('Key/value pairs that selectors (deployments, services, kubectl -l) match on.'),
      annotations: strMap('Key/value pairs tools store on the object; not used for selection.'),
      ownerReferences: listOf(
        `${META}OwnerReference`,
        'The objects this one depends on; deleting the owner collects it.',
        ['uid'],
      ),
      finalizers: {
        t: 'list',
        of: str(''),
        d: 'Conditions that must clear before the object is removed from the store.',
        set: true,
      },
      managedFields: listOf(
        `${META}ManagedFieldsEntry`,
        'Which manager owns which fields (server-side apply). Maintained by the server.',
      ),
    },
  },
  [`${META}OwnerReference`]: {
    d: 'Names an owning object in the same namespace.',
    props: {
      apiVersion: str('API version of the owner.'),
      kind: str('Kind of the owner.'),
      name: str('Name of the owner.'),
      uid: str('UID of the owner.'),
      controller: bool('True when the owner is the managing controller.'),
      blockOwnerDeletion: bool('True when the owner cannot be deleted before this object is.'),
    },
    required: ['apiVersion', 'kind', 'name', 'uid'],
  },
  [`${META}ManagedFieldsEntry`]: {
    d: 'The set of fields one manager owns, and how it last wrote them.',
    props: {
      manager: str('The name of the manager (kubectl, a controller) that owns the fields.'),
      operation: str('Apply or Update: how the manager last wrote them.'),
      apiVersion: str('The version the field set is expressed in.'),
      time: time('When the manager last changed one of its fields.'),
      fieldsType: str('The format of fieldsV1; always FieldsV1.'),
      fieldsV1: free('The owned fields, as a trie of f:<name>, k:<key> and v:<value> entries.'),
      subresource: str('The subresource the fields were written through, if any.'),
    },
  },
  [`${META}LabelSelector`]: {
    d: 'A label query; all of its requirements must hold. An empty selector matches everything.',
    props: {
      matchLabels: strMap('Labels that must have exactly these values.'),
      matchExpressions: listOf(
        `${META}LabelSelectorRequirement`,
        'Set-based requirements (In, NotIn, Exists, DoesNotExist).',
      ),
    },
  },
  [`${META}LabelSelectorRequirement`]: {
    d: 'One set-based requirement on a label.',
    props: {
      key: str('The label key.'),
      operator: str('In, NotIn, Exists or DoesNotExist.'),
      values: strList('The values In and NotIn compare with; empty for Exists and DoesNotExist.'),
    },
    required: ['key', 'operator'],
  },
};
