/**
 * What `COMMAND --help` teaches beyond the option list: examples, the exit
 * codes (docs/architecture.md, "Streams and exit codes") and the environment
 * variables the command reads. Plain data, so a test can check every command
 * has all three and completion scripts can be built from the same tree.
 */
import type { Command } from 'commander';

type Env = readonly (readonly [name: string, what: string])[];

interface CommandHelp {
  readonly examples: readonly string[];
  readonly exitCodes: readonly string[];
  readonly env: Env;
}

const OUTPUT_ENV: Env = [
  ['NO_COLOR', 'any non-empty value: no colour'],
  ['FORCE_COLOR', '1, 2 or 3: colour even when stderr/stdout is not a terminal; 0: none'],
  ['CI', 'set: plain progress lines, no live redraw'],
];
const SECRET_ENV: Env = [['(any)', 'the variables the inventory names in { "env": … } secret references']];
const SSH_ENV: Env = [['SSH_AUTH_SOCK', 'the ssh-agent, when a node allows the agent'], ['HOME', '~/.ssh/config, ~/.ssh/known_hosts and keys']];
const STATE_ENV: Env = [['XDG_STATE_HOME', 'run logs (default ~/.local/state/pve-passthrough/runs)']];
const HOST_ENV: Env = [
  ['PVE_TOKEN_SECRET, PVE_PASSWORD', 'with --host --api: the API secret (or the variable a profile names)'],
  ['PVE_PASSTHROUGH_CONFIG_DIR', 'where --profile is read from (default: the user config folder)'],
];
const REMOTE_ENV: Env = [...SECRET_ENV, ...HOST_ENV, ...SSH_ENV, ...STATE_ENV, ...OUTPUT_ENV];

export const HELP: Readonly<Record<string, CommandHelp>> = {
  plan: {
    examples: [
      'pve-passthrough plan -i inventory.json',
      'pve-passthrough plan -i inventory.yaml --node pve1 --out plan.json',
      'pve-passthrough plan --host root@pve1 --device 0000:01:00.0',
      'pve-passthrough plan --host root@pve1 --identity ~/.ssh/lab_ed25519 --device 01:00.0 --iommu-pt --kernel-param initcall_blacklist=sysfb_init',
      'pve-passthrough plan --host root@pve1 --device 01:00.0 --exact   # the flags are the whole declaration: what they leave out is removed',
      'pve-passthrough plan -i inventory.json --detailed-exitcode || echo "changes pending (2) or error (1)"',
    ],
    exitCodes: ['0  planned (with --detailed-exitcode: nothing to do)', '1  could not plan (bad input, a selection that matches nothing, unreachable, refused credentials)', '2  only with --detailed-exitcode: changes or refusals pending'],
    env: REMOTE_ENV,
  },
  apply: {
    examples: [
      'pve-passthrough apply -i inventory.json                 # shows the plan, asks, then applies',
      'pve-passthrough apply -i inventory.json --yes --node pve1',
      'pve-passthrough apply -i inventory.json --plan plan.json --yes',
      'pve-passthrough apply -i inventory.json --yes --reboot never   # write now, reboot later yourself',
      'pve-passthrough apply --host root@pve1 --api https://pve1:8006 --profile lab --device 01:00.0 --vm 100 --x-vga',
    ],
    exitCodes: ['0  everything applied and verified (with --reboot never: reboots left pending are named)', '1  anything failed, was refused or skipped, or the confirmation was declined'],
    env: REMOTE_ENV,
  },
  verify: {
    examples: [
      'pve-passthrough verify -i inventory.json',
      'pve-passthrough verify -i inventory.json --format prometheus -o /var/lib/prometheus/node-exporter/pve_passthrough.prom',
      'pve-passthrough verify -i inventory.json --json > verify.json',
    ],
    exitCodes: ['0  compliant', '1  could not check, a selection that matches nothing, or nothing checked', '2  drift (including a reboot or a VM change still pending)'],
    env: REMOTE_ENV,
  },
  devices: {
    examples: ['pve-passthrough devices -i inventory.json --node pve1', 'pve-passthrough devices --host root@pve1 --device 0000:01:00.0   # prints an inventory snippet'],
    exitCodes: ['0  listed', '1  a node could not be read'],
    env: REMOTE_ENV,
  },
  rollback: {
    examples: ['pve-passthrough rollback -i inventory.json --node pve1', 'pve-passthrough rollback -i inventory.json --node pve1 --run 20261205T071500Z-ab12 --yes', 'pve-passthrough rollback -i inventory.json --node pve1 --wait-lease 600   # another run is busy on the cluster'],
    exitCodes: ['0  restored (and rebooted under the policy)', '1  failed or declined'],
    env: REMOTE_ENV,
  },
  'profile add': {
    examples: ['pve-passthrough profile add lab --identity ~/.ssh/id_ed25519 --api https://pve1:8006 --tls-fingerprint AA:BB:… --token-id automation@pve!passthrough --token-secret-env LAB_TOKEN'],
    exitCodes: ['0  saved', '1  failed'],
    env: [['PVE_PASSTHROUGH_CONFIG_DIR', 'where profiles are stored (default: the user config folder)']],
  },
  'profile list': { examples: ['pve-passthrough profile list', 'pve-passthrough profile list --json'], exitCodes: ['0  listed', '1  failed'], env: [['PVE_PASSTHROUGH_CONFIG_DIR', 'where profiles are stored']] },
  'profile remove': { examples: ['pve-passthrough profile remove lab'], exitCodes: ['0  removed', '1  no such profile'], env: [['PVE_PASSTHROUGH_CONFIG_DIR', 'where profiles are stored']] },
  'runs list': { examples: ['pve-passthrough runs list', 'pve-passthrough runs list --json'], exitCodes: ['0  listed'], env: STATE_ENV },
  'runs show': { examples: ['pve-passthrough runs show 20261205T071500Z-ab12 | jq .'], exitCodes: ['0  shown', '1  no such run'], env: STATE_ENV },
  'inventory discover': {
    examples: [
      'PVE_TOKEN_SECRET=… pve-passthrough inventory discover --api https://pve1:8006 --token-id automation@pve!passthrough --tls-fingerprint AA:BB:… -o inventory.json',
      'pve-passthrough inventory discover --api https://pve1:8006 --ca pve-root-ca.pem   # asks for root@pam\'s password',
    ],
    exitCodes: ['0  skeleton written', '1  failed'],
    env: [['PVE_TOKEN_SECRET', 'the token secret (or the variable --token-secret-env names)'], ['PVE_PASSWORD', 'the password (or the variable --password-env names); asked on a terminal when unset'], ...OUTPUT_ENV],
  },
  sim: {
    examples: ['pve-passthrough sim --inventory-out /tmp/sim/inventory.json', 'pve-passthrough sim --scenario demo --request-log /tmp/sim/requests.jsonl'],
    exitCodes: ['0  stopped by Ctrl-C or SIGTERM', '1  could not start (also: the @pve-passthrough/simulator package is not installed)'],
    env: [],
  },
  demo: {
    examples: ['pve-passthrough demo', 'pve-passthrough demo --keep   # leave the simulated fleet running'],
    exitCodes: ['0  the walkthrough ran as designed (the refusals it shows are part of it)', '1  the walkthrough broke, or the @pve-passthrough/simulator package is not installed'],
    env: OUTPUT_ENV,
  },
  completion: {
    examples: [
      'source <(pve-passthrough completion bash)',
      'pve-passthrough completion zsh > "${fpath[1]}/_pve-passthrough"',
      'pve-passthrough completion fish > ~/.config/fish/completions/pve-passthrough.fish',
    ],
    exitCodes: ['0  printed', '1  unknown shell'],
    env: [],
  },
};

/** Full name below the program: "plan", "profile add". */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

export function helpText(h: CommandHelp): string {
  const block = (title: string, lines: readonly string[]) => (lines.length ? `\n${title}:\n${lines.map((l) => `  ${l}`).join('\n')}\n` : '');
  const width = Math.max(0, ...h.env.map(([name]) => name.length)) + 2;
  const env = h.env.map(([name, what]) => `${name.padEnd(width)}${what}`);
  return `${block('Examples', h.examples.map((e) => `$ ${e}`))}${block('Exit codes', h.exitCodes)}${block('Environment', env.length ? env : ['(none read)'])}`;
}

/** Adds Examples / Exit codes / Environment to every leaf command that has an entry. */
export function teach(program: Command): void {
  const visit = (cmd: Command): void => {
    const h = HELP[commandPath(cmd)];
    if (h) cmd.addHelpText('after', helpText(h));
    cmd.commands.forEach(visit);
  };
  program.commands.forEach(visit);
}
