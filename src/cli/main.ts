// The skiff command: one entry per subcommand below; each command's logic lives in its own file
// (loaded when that command runs, so `skiff get` does not load the proxy). Exit codes: 0 ok,
// 1 failure (`skiff: <message>`, or problem lines), 2 usage error.
import { Command, CommanderError } from 'commander';
import { SKIFF_VERSION } from '../xds/node.js';
import { collect } from './flags.js';
import { consoleIO, errorLines, exitCodeOf } from './io.js';

const io = consoleIO;
const program = new Command('skiff');

program
  .description('a service mesh: Istio config, Envoy xDS, one proxy per workload')
  .version(SKIFF_VERSION, '--version')
  .exitOverride()
  .showHelpAfterError('(run with --help for usage)')
  .configureOutput({
    writeOut: (s) => process.stdout.write(s),
    writeErr: (s) => process.stderr.write(s),
    outputError: (s, write) => write(s.replace(/^error: /, 'skiff: ')),
  });

/** Commands that reach the running mesh take `--mesh FILE` (else SKIFF_MESH, else .skiff/). */
const withMesh = (cmd: Command): Command =>
  cmd.option('--mesh <file>', 'the mesh record to use (default: .skiff/mesh.json here or above)');

program
  .command('validate')
  .description('check Istio/Kubernetes/skiff YAML files or directories')
  .argument('<paths...>')
  .action(async (paths: string[]) => {
    const { runValidate } = await import('./validate.js');
    return finish(await runValidate(paths, io));
  });

program
  .command('up')
  .description('run a whole mesh from a directory of YAML, until Ctrl-C')
  .argument('<dir>')
  .option('--state-dir <dir>', 'logs, instances, control plane state (default: .skiff)')
  .option('--ingress-port <n>', 'host port of the first Gateway port (0: a free one)')
  .option('--mesh-config <file>', "Istio's MeshConfig YAML (or the istio ConfigMap's manifest)")
  .option('--verbose', "print every process's output, prefixed [name]")
  .action(async (dir: string, flags) => finish(await (await import('./up.js')).up(dir, flags, io)));

program
  .command('control-plane')
  .description('run the control plane (xDS, CA, HTTP API)')
  .requiredOption('--config <paths...>', 'directories or files of YAML, watched')
  .requiredOption('--state-dir <dir>', 'where applied config and keys are kept')
  .option('--bind <address>', 'address every listener binds', '127.0.0.1')
  .option('--grpc-port <port>', 'xDS and CA (gRPC)', '15010')
  .option('--grpc-tls-port <port>', 'xDS and CA over TLS (default 15012, or free with --grpc-port)')
  .option(
    '--ca-cert-dir <dir>',
    'plugged-in CA: ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem',
  )
  .option('--workload-cert-ttl <duration>', 'workload certificate lifetime (default 24h)')
  .option('--max-workload-cert-ttl <duration>', 'longest lifetime a CSR may ask (default 2160h)')
  .option('--http-port <port>', 'HTTP API, /debug, /metrics', '15014')
  .option('--gateway-port <P=H>', 'serve Gateway port P on host port H (repeatable)', collect, [])
  .option('--instances <file>', 'running Workload instances (written by skiff up)')
  .option('--mesh-config <file>', "Istio's MeshConfig YAML (or the istio ConfigMap's manifest)")
  .option('--debounce-ms <ms>', 'wait for config changes to settle', '100')
  .option('--exit-with-parent', 'exit when stdin closes (the launcher is gone)')
  .action(async (flags) =>
    finish(await (await import('./control-plane.js')).controlPlane(flags, io)),
  );

program
  .command('proxy')
  .description("run one proxy: a workload's sidecar or a gateway's router")
  .requiredOption('--type <type>', 'sidecar or router')
  .requiredOption('--name <name>', 'instance name, e.g. reviews-v1-0')
  .requiredOption('--namespace <ns>', 'namespace')
  .requiredOption('--workload <name>', 'workload name')
  .requiredOption('--service-account <sa>', 'service account')
  .option('--labels <k=v,...>', 'workload labels')
  .requiredOption('--xds <host:port>', "the control plane's xDS address")
  .option('--admin-port <port>', 'admin HTTP port', '15000')
  .option('--outbound-port <port>', 'the HTTP proxy listener for the app (sidecars)')
  .option('--status-port <port>', 'merged metrics (/stats/prometheus) port, as Istio 15020')
  .option('--app-metrics <url>', "the app's metrics URL, merged into --status-port's")
  .option('--inbound <c:name:listen:app>', 'an inbound port (repeatable)', collect, [])
  .option('--ready-file <file>', 'written once the admin port listens')
  .option('--ip <address>', 'address the proxy binds', '127.0.0.1')
  .option('--exit-with-parent', 'exit when stdin closes (the launcher is gone)')
  .option(
    '--identity-dir <dir>',
    'file-mounted workload certificates: cert-chain.pem, key.pem, root-cert.pem',
  )
  .option('--ca-root-cert <file>', 'the mesh root: xDS over TLS and a certificate from the CA')
  .option('--token-file <file>', 'bootstrap token for the CA (else SKIFF_TOKEN); see skiff token')
  .option('--ca-address <host:port>', "the CA's TLS address (default: --xds)")
  .option('--trust-domain <domain>', "the mesh's trust domain (default cluster.local)")
  .action(async (flags) => finish(await (await import('./proxy.js')).proxy(flags, io)));

withMesh(
  program
    .command('apply')
    .description('add or change resources in the running mesh')
    .option('-f, --filename <path>', 'file, directory, or - for stdin (repeatable)', collect, []),
).action(async (flags) => finish(await (await import('./apply.js')).apply(flags, io)));

withMesh(
  program
    .command('delete')
    .description('remove resources by file, or by kind and name')
    .argument('[kind]')
    .argument('[names...]')
    .option('-f, --filename <path>', 'file, directory, or - for stdin (repeatable)', collect, [])
    .option('-n, --namespace <ns>', 'namespace (default: default)')
    .option('--ignore-not-found', 'do not fail when a resource does not exist'),
).action(async (kind: string | undefined, names: string[], flags) =>
  finish(await (await import('./delete.js')).del(kind, names, flags, io)),
);

withMesh(
  program
    .command('get')
    .description('list resources in force (table, -o yaml, -o json)')
    .argument('<kind>')
    .argument('[name]')
    .option('-n, --namespace <ns>', 'namespace (default: default)')
    .option('-A, --all-namespaces', 'every namespace')
    .option('-o, --output <format>', 'yaml or json'),
).action(async (kind: string, name: string | undefined, flags) =>
  finish(await (await import('./get.js')).get(kind, name, flags, io)),
);

withMesh(program.command('proxy-status').description("every proxy's xDS sync state")).action(
  async (flags) => finish(await (await import('./proxy-status.js')).proxyStatus(flags, io)),
);

withMesh(
  program
    .command('proxy-config')
    .description("a proxy's listeners, routes, clusters or endpoints")
    .argument('<type>', 'listeners, routes, clusters, endpoints, secret or all')
    .argument('<instance>', 'e.g. productpage-v1-0 or istio-ingressgateway-0')
    .option('-n, --namespace <ns>', 'namespace of the instance')
    .option('-o, --output <format>', 'json'),
).action(async (type: string, instance: string, flags) =>
  finish(await (await import('./proxy-config.js')).proxyConfig(type, instance, flags, io)),
);

withMesh(
  program
    .command('exec')
    .description("run a command with a workload's sidecar as its HTTP proxy")
    .argument('<workload>', 'workload (its first ready instance) or instance name')
    .argument('[command...]', 'after --')
    .option('-n, --namespace <ns>', 'namespace of the workload'),
).action(async (workload: string, command: string[], flags) =>
  finish(await (await import('./exec.js')).exec(workload, command, flags, io)),
);

withMesh(
  program
    .command('token')
    .description('mint a bootstrap token for a proxy started by hand (skiff proxy --token-file)')
    .requiredOption('--namespace <ns>', "the proxy's namespace")
    .requiredOption('--service-account <sa>', "the proxy's service account")
    .option('--ttl <duration>', 'how long the token is accepted', '1h')
    .option('--state-dir <dir>', "the control plane's state dir (default: the running mesh's)")
    .option('--output-file <file>', 'write the token to this file (0600) instead of stdout'),
).action(async (flags) => finish((await import('./token.js')).token(flags, io)));

program
  .command('version')
  .description('print the version')
  .action(async () => finish((await import('./version.js')).version(io)));

let exitCode = 0;
function finish(code: number): void {
  exitCode = code;
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and --version "fail" with code 0; every usage error exits 2.
    exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    for (const line of errorLines(err)) io.error(line);
    exitCode = exitCodeOf(err);
  }
}
// Exit now: the commands have finished, and an idle keep-alive socket must not hold us.
process.exit(exitCode);
