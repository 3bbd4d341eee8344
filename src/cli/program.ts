/**
 * The command tree. Each action imports its handler lazily so that
 * `--help` does not load ssh2, undici or the simulator.
 */
import { Command, Option } from 'commander';
import { collect } from './collect.js';
import { teach } from './help.js';
import { LEASE_OPTIONS } from './lease-flags.js';
import type { GlobalFlags } from './common.js';
import { PACKAGE } from './package-json.js';

/** Every shared option, once; each command takes only the ones it uses (SHARED below). */
const OPTIONS = {
  inventory: () => new Option('-i, --inventory <file>', 'inventory file: JSON (comments allowed) or YAML (see inventory.example.json, docs/inventory.md)'),
  cluster: () => new Option('--cluster <name>', 'only this cluster (repeatable, or comma-separated)').argParser(collect),
  node: () => new Option('--node <name>', 'only this node (repeatable)').argParser(collect),
  vm: () => new Option('--vm <vmid>', 'only this VM (repeatable); with --host: a VM to give the devices to').argParser(collect),
  tag: () => new Option('--tag <tag>', 'only VMs with this PVE tag (from /cluster/resources; repeatable) and the nodes hosting them').argParser(collect),
  host: () => new Option('--host <user@host[:port]>', 'single node without an inventory file'),
  api: () => new Option('--api <url>', 'with --host: the cluster API, e.g. https://pve1:8006'),
  device: () => new Option('--device <address>', 'with --host: a PCI device to pass through (repeatable)').argParser(collect),
  identity: () => new Option('--identity <file>', 'with --host: SSH private key (default: a profile\'s key, ssh_config IdentityFile, the agent, then ~/.ssh/id_* as OpenSSH tries them)'),
  kernelParam: () => new Option('--kernel-param <param>', 'with --host: a kernel parameter to add, e.g. initcall_blacklist=sysfb_init (repeatable; not split at commas: video=efifb:off,vesafb:off is one)').argParser((v: string, prev: string[] = []) => [...prev, v]),
  iommuPt: () => new Option('--iommu-pt', 'with --host: add iommu=pt to the kernel command line'),
  xVga: () => new Option('--x-vga', 'with --host --vm: give the devices as the VM\'s primary GPU (hostpci x-vga=1)'),
  exact: () => new Option('--exact', 'with --host: the flags are the whole declaration, so what they do not name is removed (kernel parameters, iommu=pt, other bound devices, hostpci options such as x-vga; the machine may change to q35); without it flags mode only adds'),
  nodeName: () => new Option('--node-name <name>', 'with --host: the PVE node name (default: the host\'s own `hostname`, checked against the cluster\'s node list when --api is given)'),
  profile: () => new Option('--profile <name>', 'with --host: a stored connection profile (see `profile add`)'),
  concurrency: () => new Option('--concurrency <n>', 'nodes worked on at once (default 16)'),
  sshConfig: () => new Option('-F, --ssh-config <file>', 'OpenSSH client config to read instead of ~/.ssh/config and /etc/ssh/ssh_config'),
  acceptNewHostKeys: () => new Option('--accept-new-host-keys', 'trust and record SSH host keys seen for the first time (a changed key is always refused)'),
  json: () => new Option('--json', 'machine-readable output on stdout (same as --format json)'),
  verbose: () => new Option('-v, --verbose', 'show every remote command (secrets redacted)'),
  quiet: () => new Option('-q, --quiet', 'no progress on stderr'),
  pollMs: () => new Option('--poll-ms <ms>', 'reboot and task poll interval').hideHelp(),
} as const;
type SharedOption = keyof typeof OPTIONS;

const REACH: SharedOption[] = ['inventory', 'host', 'api', 'nodeName', 'profile', 'identity', 'sshConfig', 'acceptNewHostKeys'];
/** What --host declares beyond devices and VMs (commands that compare against a declaration). */
const DECLARE: SharedOption[] = ['kernelParam', 'iommuPt', 'xVga', 'exact'];
const OUT: SharedOption[] = ['json', 'verbose', 'quiet', 'pollMs'];
/** Which shared options each command takes (rollback acts on one node: no --tag, --vm or --device). */
const SHARED: Readonly<Record<string, readonly SharedOption[]>> = {
  plan: [...REACH, 'device', 'vm', ...DECLARE, 'cluster', 'node', 'tag', 'concurrency', ...OUT],
  apply: [...REACH, 'device', 'vm', ...DECLARE, 'cluster', 'node', 'tag', 'concurrency', ...OUT],
  verify: [...REACH, 'device', 'vm', ...DECLARE, 'cluster', 'node', 'tag', 'concurrency', ...OUT],
  devices: [...REACH, 'device', 'cluster', 'node', 'concurrency', ...OUT],
  rollback: [...REACH, 'cluster', 'node', ...OUT],
};

/** Adds the shared options this command takes (by its name, see SHARED). */
function selection(cmd: Command): Command {
  for (const key of SHARED[cmd.name()] ?? []) cmd.addOption(OPTIONS[key]());
  return cmd;
}

async function exit(code: Promise<number> | number): Promise<void> {
  process.exitCode = await code;
}

export function buildProgram(): Command {
  const program = new Command('pve-passthrough')
    .description('Put PCI(e) passthrough on Proxmox VE fleets into a declared state, and prove it.\n\nStart with `pve-passthrough demo` (a simulated cluster, nothing real is touched).')
    .version(`pve-passthrough ${PACKAGE.version} (Node.js ${process.version}, ${process.platform}-${process.arch})`, '-V, --version', 'print the version, with Node.js\'s and the platform')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  addFleetCommands(program);
  addLocalCommands(program);
  addToolCommands(program);
  teach(program);
  return program;
}

/** The commands that act on the inventory's fleet: plan, apply, verify, devices, rollback. */
function addFleetCommands(program: Command): void {
  selection(program.command('plan'))
    .description('show what would change (a diff); changes nothing. Exit 0 planned, 1 could not plan; with --detailed-exitcode 2 when changes or refusals are pending')
    .option('--out <file>', 'also save the plan as JSON, for `apply --plan` (written atomically, mode 0600)')
    .option('--detailed-exitcode', 'exit 2 when changes or refusals are pending (0 only when there is nothing to do), like terraform plan -detailed-exitcode')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--output-mode <octal>', 'file mode for --out (default 0600)')
    .addOption(new Option('--reboot <when>', 'reboot policy override').choices(['never', 'needed', 'always']))
    .action((o: GlobalFlags & { out?: string }) => exit(import('./commands/plan.js').then((m) => m.planCommand(o))));

  selection(program.command('apply'))
    .description('apply the plan: write files with backups, refresh, rolling reboots, verify each node, then VMs. Exit 0 all applied and verified, 1 otherwise')
    .option('--plan <file>', 'apply a saved plan (refused for nodes whose facts changed)')
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addOption(new Option('--reboot <when>', 'reboot policy override').choices(['never', 'needed', 'always']))
    .option(...LEASE_OPTIONS[0]!)
    .option(...LEASE_OPTIONS[1]!)
    .action((o) => exit(import('./commands/apply.js').then((m) => m.applyCommand(o))));

  selection(program.command('verify'))
    .description('read-only compliance check. Exit 0 compliant, 2 drift (incl. pending reboot or VM change), 1 could not check')
    .addOption(new Option('--format <format>', 'report format').choices(['table', 'json', 'junit', 'prometheus']).default('table'))
    .option('-o, --output <file>', 'write the report to a file instead of stdout (atomically: temp file, then rename)')
    .option('--output-mode <octal>', 'file mode for -o (default 0600; e.g. 0644 for a node_exporter running as another user)')
    .action((o) => exit(import('./commands/verify.js').then((m) => m.verifyCommand(o))));

  selection(program.command('devices'))
    .description('list PCI devices per node: ids, driver, IOMMU group, isolation, whether the host needs them; --device X prints an inventory snippet')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action((o) => exit(import('./commands/devices.js').then((m) => m.devicesCommand(o))));

  selection(program.command('rollback'))
    .description("restore a node's files from a run's backups, refresh, and reboot under the policy")
    .option('--run <id>', 'the run to undo (default: the newest on that node)')
    .option('--force', 'also restore files changed since that run (their current content is backed up first)')
    .option('-y, --yes', 'do not ask for confirmation')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addOption(new Option('--reboot <when>', 'reboot policy override').choices(['never', 'needed', 'always']))
    .option(...LEASE_OPTIONS[0]!)
    .option(...LEASE_OPTIONS[1]!)
    .action((o) => exit(import('./commands/rollback.js').then((m) => m.rollbackCommand(o))));
}

/** What is kept on this machine: connection profiles and run logs. */
function addLocalCommands(program: Command): void {
  const profile = program.command('profile').description('stored connection profiles (0600; secrets are never stored, only where to find them)');
  profile
    .command('add <name>')
    .option('--ssh-user <user>').option('--ssh-port <port>').option('--identity <file>', 'SSH private key file').option('--agent', 'use ssh-agent')
    .option('--known-hosts <file>').option('--host-key <SHA256:…>', 'pinned SSH host key fingerprint').option('--sudo', 'run remote commands with sudo -n')
    .option('--api <url>').option('--tls-fingerprint <AA:BB:…>').option('--ca <file>')
    .option('--token-id <user@realm!id>').option('--token-secret-env <VAR>', 'environment variable holding the token secret')
    .option('--username <user@realm>').option('--password-env <VAR>')
    .action((name: string, o) => exit(import('./commands/profile.js').then((m) => m.profileAdd(name, o))));
  profile.command('list').option('--json', 'same as --format json').addOption(new Option('--format <format>').choices(['text', 'json']).default('text'))
    .action((o: { json?: boolean; format?: string }) => exit(import('./commands/profile.js').then((m) => m.profileList(Boolean(o.json) || o.format === 'json'))));
  profile.command('remove <name>').action((name: string) => exit(import('./commands/profile.js').then((m) => m.profileRemove(name))));

  const runs = program.command('runs').description('local run logs (XDG_STATE_HOME/pve-passthrough/runs)');
  runs.command('list').option('--json', 'same as --format json').addOption(new Option('--format <format>').choices(['text', 'json']).default('text'))
    .action((o: { json?: boolean; format?: string }) => exit(import('./commands/runs.js').then((m) => m.runsList(Boolean(o.json) || o.format === 'json'))));
  runs.command('show <id>').action((id: string) => exit(import('./commands/runs.js').then((m) => m.runsShow(id))));
}

/** Helpers around the fleet: inventory discovery, the simulator, the demo, shell completion. */
function addToolCommands(program: Command): void {
  program
    .command('inventory')
    .description('inventory helpers')
    .command('discover')
    .description('print an inventory skeleton built from the cluster API')
    .requiredOption('--api <url>', 'https://<node>:8006')
    .option('--token-id <user@realm!id>').option('--token-secret-env <VAR>', 'default PVE_TOKEN_SECRET')
    .option('--username <user@realm>', 'ticket auth (default root@pam)').option('--password-env <VAR>', 'default PVE_PASSWORD')
    .option('--tls-fingerprint <AA:BB:…>').option('--ca <file>').option('--name <cluster>')
    .option('-o, --output <file>', 'write the inventory to a file (atomically, mode 0600)')
    .option('--output-mode <octal>', 'file mode for -o (default 0600)')
    .action((o) => exit(import('./commands/discover.js').then((m) => m.discoverCommand(o))));

  program
    .command('sim')
    .description('run a simulated Proxmox cluster in the foreground (real SSH + HTTPS on 127.0.0.1) and write an inventory for it')
    .option('--scenario <file>', 'scenario JSON (default: a fleet that converges completely)')
    .option('--inventory-out <file>', 'where to write the inventory', 'sim-inventory.json')
    .option('--request-log <file>', 'append every API request as JSON lines (secrets redacted)')
    .option('--control-port <port>', 'port of the loopback control interface (default: ephemeral)')
    .action((o) => exit(import('./commands/sim.js').then((m) => m.simCommand(o))));

  program
    .command('demo')
    .description('the whole flow on a simulated fleet: plan, apply, plan again, verify, drift; nothing real is touched')
    .option('--keep', 'leave the simulated fleet running afterwards (Ctrl-C to stop)')
    .action((o) => exit(import('./commands/demo.js').then((m) => m.demoCommand(o))));

  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .argument('<shell>', 'bash | zsh | fish')
    .action((shell: string) => exit(import('./completion.js').then((m) => m.completionCommand(shell, buildProgram()))));
}

/** Parses argv and runs the command; returns the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(argv as string[]);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    if (typeof e.exitCode === 'number') return e.exitCode === 0 ? 0 : 1;
    throw err;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
