// The broker trust chain's JWTs, as the broker will read them (the real server's verdict on them is
// test/integration/broker-trust.test.ts).
import { describe, expect, it } from 'vitest';
import { subjects, type AgentName, type MessageKind } from '../../contract/index.js';
import {
  HEARTBEAT_SUBJECT,
  SERVICE_AGENT_SUBJECTS,
  bootstrapUserJwt,
  clusterUserJwt,
  createBrokerTrust,
  createUserKey,
  decodeJwt,
  encodeClustersAccount,
  resolverFiles,
} from '../../platform/broker-trust.js';
import { natsServerConfig } from '../../platform/broker-server-config.js';

/** One broker node's config options (paths as nats-server would see them). */
const SINGLE_NODE = {
  host: '127.0.0.1',
  port: 4222,
  monitorPort: 8222,
  storeDir: '/d/js',
  resolverDir: '/d/jwt',
  operatorFile: '/d/operator.jwt',
};

/** NATS subject matching: `*` one token, `>` the rest. */
function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const t = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return t.length > i;
    if (i >= t.length || (p[i] !== '*' && p[i] !== t[i])) return false;
  }
  return p.length === t.length;
}

interface UserClaims {
  issuer_account: string;
  pub: { allow: string[] };
  sub: { allow: string[] };
}

describe('broker trust', () => {
  it('signs a cluster user with the CLUSTERS signing key, limited to its own subjects, with an expiry', async () => {
    const trust = await createBrokerTrust();
    const user = createUserKey();
    const token = await clusterUserJwt(trust, 's.rg.c1', user.publicKey, { expiresAtSec: 2_000_000_000 });
    const claims = decodeJwt<UserClaims>(token);
    expect(claims.sub).toBe(user.publicKey);
    expect(claims.iss).toBe(trust.clusters.signingKey.publicKey);
    expect(claims.exp).toBe(2_000_000_000);
    expect(claims.nats.issuer_account).toBe(trust.clusters.publicKey);
    expect(claims.nats.pub?.allow).toEqual(['arc.v1.s.rg.c1.>']);
    expect(claims.nats.sub?.allow).toEqual([
      'arcctl.v1.s.rg.c1',
      'arcconnect.v1.s.rg.c1.>',
      '_INBOX.s.rg.c1.>',
    ]);
  });

  it('lets an onboarding user publish the register request alone', async () => {
    const trust = await createBrokerTrust();
    const claims = decodeJwt<UserClaims>(await bootstrapUserJwt(trust, 's.rg.c1', createUserKey().publicKey));
    expect(claims.nats.pub?.allow).toEqual(['arc.v1.s.rg.c1.clusteridentityoperator.register']);
    expect(claims.exp).toBeUndefined();
  });

  it('re-signs CLUSTERS with revocations, keeping its imports and signing key', async () => {
    const trust = await createBrokerTrust();
    const revoked = createUserKey().publicKey;
    const claims = decodeJwt<{
      revocations: Record<string, number>;
      signing_keys: string[];
      imports: { subject: string; type: string }[];
      exports: { subject: string; type: string }[];
    }>(await encodeClustersAccount(trust, { [revoked]: 1_900_000_000 }));
    expect(claims.iss).toBe(trust.operatorSigningKey.publicKey);
    expect(claims.nats.revocations).toEqual({ [revoked]: 1_900_000_000 });
    expect(claims.nats.signing_keys).toEqual([trust.clusters.signingKey.publicKey]);
    // Every agent → hub subject but heartbeats as services; heartbeats go out as a stream.
    expect(claims.nats.imports?.map((i) => `${i.type} ${i.subject}`)).toEqual([
      ...SERVICE_AGENT_SUBJECTS.map((subject) => `service ${subject}`),
      'stream arcctl.v1.>',
    ]);
    expect(claims.nats.exports?.map((e) => `${e.type} ${e.subject}`)).toEqual([
      'service arcconnect.v1.>',
      `stream ${HEARTBEAT_SUBJECT}`,
    ]);
    // Together they carry every message an agent sends to the hub, each by exactly one route (two
    // would deliver it twice).
    const ref = { subscriptionId: 's', resourceGroup: 'rg', name: 'c' };
    const sent: [AgentName, MessageKind][] = [
      ['clusteridentityoperator', 'register'],
      ['clusteridentityoperator', 'renew'],
      ['resource-sync-agent', 'metadata'],
      ['resource-sync-agent', 'heartbeat'],
      ['metrics-agent', 'agent-health'],
      ['config-agent', 'config-pull'],
      ['config-agent', 'config-status'],
      ['extension-manager', 'config-pull'],
      ['extension-manager', 'config-status'],
    ];
    const routes = [...SERVICE_AGENT_SUBJECTS, HEARTBEAT_SUBJECT];
    for (const [agent, kind] of sent) {
      const subject = subjects.agentToHub(ref, agent, kind);
      expect(
        routes.filter((r) => subjectMatches(r, subject)),
        subject,
      ).toHaveLength(1);
    }
    const connectFrame = `arc.v1.s.rg.c.clusterconnect-agent.s.1234`;
    expect(routes.filter((r) => subjectMatches(r, connectFrame))).toHaveLength(1);
  });

  it('writes an operator-mode server config and one resolver file per account', async () => {
    const trust = await createBrokerTrust();
    const conf = natsServerConfig(trust, SINGLE_NODE);
    expect(conf).toContain('operator: "/d/operator.jwt"');
    expect(conf).toContain(`system_account: ${trust.system.publicKey}`);
    expect(conf).toContain('resolver: { type: full, dir: "/d/jwt"');
    // Plain unless asked: a store key and a certificate each add their block.
    expect(conf).not.toContain('tls:');
    const secured = natsServerConfig(trust, {
      ...SINGLE_NODE,
      storeKey: 'k'.repeat(43),
      tls: { certFile: '/d/broker.pem', keyFile: '/d/broker-key.pem', caFile: '/d/ca.pem' },
    });
    expect(secured).toContain(`cipher: chachapoly, key: "${'k'.repeat(43)}"`);
    expect(secured).toContain(
      'tls: { cert_file: "/d/broker.pem", key_file: "/d/broker-key.pem", timeout: 5 }',
    );
    expect(resolverFiles(trust).map((f) => f.name)).toEqual(
      [trust.system, trust.hub, trust.clusters].map((a) => `${a.publicKey}.jwt`),
    );
  });

  it('makes a node of a NATS cluster: its own name, routes to the others, no client URLs advertised', async () => {
    const trust = await createBrokerTrust();
    const conf = natsServerConfig(trust, {
      ...SINGLE_NODE,
      storeDir: '/d/js-1',
      resolverDir: '/d/jwt-1',
      serverName: 'arcfleet-1',
      cluster: { listen: '127.0.0.1:6223', routes: ['127.0.0.1:6222', '127.0.0.1:6224'] },
    });
    expect(conf).toContain('server_name: arcfleet-1');
    expect(conf).toContain('listen: "127.0.0.1:6223"');
    expect(conf).toContain('no_advertise: true');
    expect(conf).toContain('routes: ["nats-route://127.0.0.1:6222", "nats-route://127.0.0.1:6224"]');
    expect(conf).not.toContain('tls:');
    // With a certificate, the routes are mutual TLS against the fleet CA too.
    const secured = natsServerConfig(trust, {
      ...SINGLE_NODE,
      tls: { certFile: '/d/broker.pem', keyFile: '/d/broker-key.pem', caFile: '/d/ca.pem' },
      cluster: { listen: '127.0.0.1:6223', routes: ['127.0.0.1:6222'] },
    });
    expect(secured).toMatch(
      /cluster: \{[^]*tls: \{ cert_file: "\/d\/broker.pem", key_file: "\/d\/broker-key.pem", ca_file: "\/d\/ca.pem", timeout: 5 \}\n\}/,
    );
    // A single server has no cluster block at all.
    const single = natsServerConfig(trust, SINGLE_NODE);
    expect(single).not.toContain('cluster');
    expect(single).toContain('server_name: arcfleet\n');
  });
});
