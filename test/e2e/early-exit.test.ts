/**
 * Every exit path exits (issue 16, "Hangs"): the compiled CLI, spawned against
 * the simulated fleet, for each early failure a new user meets. The child's own
 * exit is the hang detector: runCli kills it after a generous ceiling (20 s),
 * and a killed child fails the test; this is not a timing assertion. The real
 * cause must be named, and main.ts's "left a connection or timer open" note
 * (printed when a command finished but the process would not end) must never
 * appear.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_SCENARIOS } from '../../mocks/index.js';
import { testFleet, type TestFleet } from '../helpers/fleet.js';
import { runCli } from '../safety/cli.js';

const CEILING_MS = 20_000;

let tf: TestFleet;
let home: string;
let silent: Server;
let silentPort = 0;
const held = new Set<import('node:net').Socket>();
const files: Record<string, string> = {};

type Inv = { clusters: { api: { url: string; tls: { fingerprint: string }; auth: unknown }; nodes: { ssh: { port: number; connectTimeoutSeconds?: number } }[] }[] };

beforeAll(async () => {
  tf = await testFleet(BUILTIN_SCENARIOS.converge);
  home = mkdtempSync(join(tmpdir(), 'pvpt-exit-'));
  // Accepts TCP and never says a word: the SSH banner never comes.
  silent = createServer((sock) => {
    held.add(sock);
    sock.on('close', () => held.delete(sock));
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  silentPort = (silent.address() as { port: number }).port;
  const base = JSON.parse(readFileSync(tf.fleet.inventoryPath, 'utf8')) as Inv;
  const variant = (name: string, change: (i: Inv) => void) => {
    const i = structuredClone(base);
    change(i);
    files[name] = join(home, `${name}.json`);
    writeFileSync(files[name], JSON.stringify(i, null, 2));
  };
  variant('missing-secret', (i) => { i.clusters[0]!.api.auth = { token: { id: 'root@pam!ci', secret: { env: 'PVPT_TEST_UNSET_SECRET' } } }; });
  variant('unreachable-api', (i) => { i.clusters[0]!.api.url = 'https://127.0.0.1:1'; });
  variant('wrong-tls-pin', (i) => {
    const fp = i.clusters[0]!.api.tls.fingerprint;
    i.clusters[0]!.api.tls.fingerprint = (fp.startsWith('00') ? '11' : '00') + fp.slice(2);
  });
  variant('unreachable-ssh', (i) => { i.clusters[0]!.nodes[0]!.ssh.port = 1; });
  variant('silent-ssh', (i) => { Object.assign(i.clusters[0]!.nodes[0]!.ssh, { port: silentPort, connectTimeoutSeconds: 2 }); });
  files['bad-inventory'] = join(home, 'bad-inventory.json');
  writeFileSync(files['bad-inventory'], '{"version":1,"clusters":[{"name":"x","nodes":[{"name":"a","ssh":{"host":"h"},"devices":[{"address":"01:00.0"}]}]}]}');
});

afterAll(async () => {
  for (const sock of held) sock.destroy();
  await new Promise<void>((r) => silent.close(() => r()));
  await tf.close();
  rmSync(home, { recursive: true, force: true });
}, 120_000);

const PLAN_VERIFY_APPLY = [['plan'], ['verify'], ['apply', '--yes']];
// `devices` reads hosts only: the API cases do not concern it.
const WITH_DEVICES = [...PLAN_VERIFY_APPLY, ['devices']];
const CASES: { name: string; cause: RegExp; notCause?: RegExp; commands: string[][] }[] = [
  { name: 'missing-secret', cause: /environment variable PVPT_TEST_UNSET_SECRET is not set/, notCause: /cannot reach/, commands: PLAN_VERIFY_APPLY },
  { name: 'bad-inventory', cause: /problems? in the inventory/, commands: WITH_DEVICES },
  { name: 'unreachable-api', cause: /cannot reach 127\.0\.0\.1:1/, commands: PLAN_VERIFY_APPLY },
  { name: 'wrong-tls-pin', cause: /does not match the pinned fingerprint/, commands: PLAN_VERIFY_APPLY },
  { name: 'unreachable-ssh', cause: /connection refused by pve1/, commands: WITH_DEVICES },
  { name: 'silent-ssh', cause: /timed out connecting to pve1/, commands: WITH_DEVICES },
];

describe.each(CASES)('$name', ({ name, cause, notCause, commands }) => {
  it.each(commands.map((c) => [c.join(' '), c] as const))('%s exits 1 by itself and names the cause', async (_label, cmd) => {
    const r = await runCli([...cmd, '-i', files[name]!], { home, timeoutMs: CEILING_MS });
    const all = `${r.stdout}\n${r.stderr}`;
    expect(r.signal, `killed after ${CEILING_MS} ms: it hung\n${all}`).toBeNull();
    expect(r.code, all).toBe(1);
    expect(all).toMatch(cause);
    if (notCause) expect(all).not.toMatch(notCause);
    expect(r.stderr).not.toMatch(/left a connection or timer open/);
  }, CEILING_MS + 10_000);
});
