/**
 * The layer rule, checked by `npm run lint` (docs/development.md, "Where things are"):
 *
 *   contract  ←  platform  ←  agent-runtime  ←  services/<name>
 *
 * - contract/: schemas and types only; imports nothing of ours but itself, no file or network I/O.
 * - platform/: what every process uses (settings, clock, log, backoff, files, tracing, metrics).
 * - agent-runtime/: the cluster-side agents' framework; the hub never imports it.
 * - services/<name>/: one process each; a service never imports another.
 * - fleet/ (the fleet library: component table, launcher, supervision) starts services as
 *   processes and never imports them; cli/ is the command line on top of it.
 * Tests and the bench may import anything (they test and measure the modules themselves).
 */
const ours = '^(contract|platform|agent-runtime|services|fleet|cli|bench|test)/';
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle (type-only imports vanish at run time and do not count).',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'contract-imports-only-contract',
      severity: 'error',
      comment: 'contract/ is schemas and types: it may import only itself (and zod).',
      from: { path: '^contract/' },
      to: { path: ours, pathNot: '^contract/' },
    },
    {
      name: 'contract-does-no-io',
      severity: 'error',
      comment: 'contract/ touches no file, socket or process; it validates and describes.',
      from: { path: '^contract/' },
      to: {
        dependencyTypes: ['core'],
        path: '^(node:)?(fs|fs/promises|net|http|https|http2|dgram|dns|tls|child_process|cluster|worker_threads)$',
      },
    },
    {
      name: 'contract-npm-only-zod',
      severity: 'error',
      comment: 'contract/ depends on the schema library alone.',
      from: { path: '^contract/' },
      to: { dependencyTypes: ['npm', 'npm-dev'], pathNot: 'node_modules/zod/' },
    },
    {
      name: 'platform-below-runtime-and-services',
      severity: 'error',
      comment: 'platform/ serves every process: it may import contract/ and itself only.',
      from: { path: '^platform/' },
      to: { path: ours, pathNot: '^(platform|contract)/' },
    },
    {
      name: 'agent-runtime-below-services',
      severity: 'error',
      comment: 'agent-runtime/ may import contract/, platform/ and itself only.',
      from: { path: '^agent-runtime/' },
      to: { path: ours, pathNot: '^(agent-runtime|platform|contract)/' },
    },
    {
      name: 'hub-not-on-agent-runtime',
      severity: 'error',
      comment: 'The hub is cloud side: the cluster-side agent runtime is none of its business.',
      from: { path: '^services/hub/' },
      to: { path: '^agent-runtime/' },
    },
    {
      name: 'service-imports-no-other-service',
      severity: 'error',
      comment: 'Services talk over NATS or HTTP, never through imports.',
      from: { path: '^services/([^/]+)/' },
      to: { path: '^services/', pathNot: '^services/$1/' },
    },
    {
      name: 'service-imports-no-tooling',
      severity: 'error',
      comment: 'A service imports the layers below it, never the CLI, the bench or the tests.',
      from: { path: '^services/' },
      to: { path: '^(cli|bench|test)/' },
    },
    {
      name: 'fleet-starts-services-never-imports-them',
      severity: 'error',
      comment: 'The fleet library starts services as processes (their entry files), never imports them.',
      from: { path: '^fleet/' },
      to: { path: '^(services|cli|bench|test)/' },
    },
    {
      name: 'cli-on-the-fleet-library',
      severity: 'error',
      comment: 'The CLI drives the fleet library and talks to services over HTTP, never imports them.',
      from: { path: '^cli/' },
      to: { path: '^(services|bench|test)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|\\.arcfleet)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
};
