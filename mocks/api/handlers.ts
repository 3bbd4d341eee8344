/**
 * msw handlers for every endpoint in the schema extract, with the semantics
 * of a real PVE 9 node (see mocks/api/README.md for what is simplified).
 */
import { HttpResponse, type HttpHandler } from 'msw';
import { currentView, mergedView, pendingItems } from './config-file.js';
import { die, SimHttpError } from './errors.js';
import { checkMappingOnNode, type SimMapping } from './mapping-file.js';
import { splitList } from './propstring.js';
import { faultHandler, makeRoute, notImplementedHandler, WithTotal, type RouteContext } from './router.js';
import type { SimClusterState, SimVm } from './state.js';
import { parseUpid, type SimTask } from './tasks.js';
import type { SimPciDevice } from './types.js';
import {
  applyConfigUpdate, describeUpdate, hardStop, precheckUpdate, requirePriv, shutdownVm, startVm, toConfigUpdate,
} from './vm-ops.js';

const bit = (b: boolean): 0 | 1 => (b ? 1 : 0);

function requireQuorum(state: SimClusterState): void {
  if (!state.quorum().quorate) throw die('cluster not ready - no quorum?');
}

function requireAnyPriv(ctx: RouteContext, privs: readonly string[], path: string): void {
  const have = ctx.identity.privs;
  if (have && !privs.some((p) => have.has(p))) throw new SimHttpError(403, `Permission check failed (${path}, ${privs.join('|')})`);
}

const canSee = (ctx: RouteContext, priv: string): boolean => !ctx.identity.privs || ctx.identity.privs.has(priv);

function vmOf(ctx: RouteContext): SimVm {
  const node = ctx.one('node') as string;
  const vmid = Number(ctx.one('vmid'));
  const vm = ctx.state.vms.get(vmid);
  if (!vm || vm.node !== node) throw die(`Configuration file 'nodes/${node}/qemu-server/${vmid}.conf' does not exist`);
  return vm;
}

/** The checks POST and PUT …/config share before anything changes: privilege, quorum, the update's own rules. */
function checkedUpdate(ctx: RouteContext): { vm: SimVm; upd: ReturnType<typeof toConfigUpdate> } {
  const vm = vmOf(ctx);
  requireAnyPriv(ctx, ['VM.Config.HWType', 'VM.Config.Options', 'VM.Config.Disk', 'VM.Config.CPU', 'VM.Config.Memory',
    'VM.Config.Network', 'VM.Config.Cdrom', 'VM.Config.Cloudinit'], `/vms/${vm.vmid}`);
  requireQuorum(ctx.state);
  const upd = toConfigUpdate(ctx.params);
  precheckUpdate(vm, upd, ctx.identity);
  return { vm, upd };
}

/** HA-managed VMs only ask ha-manager: an `hastop` task that ends before the VM is actually down. */
function haStop(ctx: RouteContext, vm: SimVm): string | null {
  const { state } = ctx;
  const ha = state.haFor(vm.vmid);
  if (!ha) return null;
  return state.tasks.start(vm.node, 'hastop', String(vm.vmid), ctx.identity.authid, () => {
    ha.state = 'stopped';
    state.tasks.background(state.timers.sleep(state.options.taskMs).then(() => hardStop(vm)));
  }).upid;
}

function vmStatusOnCluster(state: SimClusterState, node: string, status: string): string {
  return state.nodeOnline(node) ? status : 'unknown';
}

function guestResources(ctx: RouteContext): object[] {
  const { state } = ctx;
  if (!canSee(ctx, 'VM.Audit')) return [];
  const out: object[] = [];
  for (const vm of state.vms.values()) {
    const ha = state.haFor(vm.vmid);
    const lock = vm.file.current.get('lock');
    const tags = vm.file.current.get('tags');
    out.push({
      id: `qemu/${vm.vmid}`, type: 'qemu', vmid: vm.vmid, node: vm.node, name: vm.name ?? `VM ${vm.vmid}`,
      status: vmStatusOnCluster(state, vm.node, vm.status), template: bit(vm.file.current.get('template') === '1'),
      maxcpu: Number(vm.file.current.get('cores') ?? 1), maxmem: Number(vm.file.current.get('memory') ?? 2048) * 1024 * 1024,
      uptime: vm.startedAt !== undefined ? Math.floor((state.options.now() - vm.startedAt) / 1000) : 0,
      ...(ha ? { hastate: ha.state } : {}), ...(lock ? { lock } : {}), ...(tags ? { tags } : {}),
    });
  }
  for (const ct of state.containers.values()) {
    const ha = state.haFor(ct.vmid);
    out.push({
      id: `lxc/${ct.vmid}`, type: 'lxc', vmid: ct.vmid, node: ct.node, name: ct.name ?? `CT${ct.vmid}`,
      status: vmStatusOnCluster(state, ct.node, ct.status), template: 0, ...(ha ? { hastate: ha.state } : {}),
    });
  }
  return out.sort((a, b) => ((a as { vmid: number }).vmid - (b as { vmid: number }).vmid));
}

function nodeResources(state: SimClusterState): object[] {
  return state.nodes.map((n) => {
    const online = state.nodeOnline(n.name);
    return {
      id: `node/${n.name}`, type: 'node', node: n.name, status: online ? 'online' : 'offline', level: '',
      maxcpu: n.spec.maxcpu ?? 16, maxmem: n.spec.maxmem ?? 64 * 1024 ** 3, ...(online ? { uptime: state.uptime(n.name) } : {}),
    };
  });
}

function storageResources(state: SimClusterState): object[] {
  return state.nodes.map((n) => ({
    id: `storage/${n.name}/local`, type: 'storage', storage: 'local', node: n.name, plugintype: 'dir',
    status: state.nodeOnline(n.name) ? 'available' : 'unknown', content: 'backup,iso,vztmpl',
  }));
}

function taskStatus(task: SimTask): object {
  const [user, tokenid] = task.authid.split('!');
  return {
    upid: task.upid, node: task.node, pid: task.pid, pstart: task.pstart, starttime: task.starttime, type: task.type,
    id: task.id, user, ...(tokenid !== undefined ? { tokenid } : {}), status: task.status,
    ...(task.exitstatus !== undefined ? { exitstatus: task.exitstatus } : {}),
  };
}

function taskOf(ctx: RouteContext): SimTask {
  const upid = ctx.one('upid') as string;
  const parsed = parseUpid(upid);
  if (!parsed) throw new SimHttpError(400, `unable to parse worker upid '${upid}'`);
  const task = ctx.state.tasks.get(upid);
  if (!task || task.node !== ctx.one('node')) throw new SimHttpError(400, 'no such task');
  const me = ctx.identity;
  const owner = task.authid === me.authid || (me.kind === 'ticket' && task.authid.startsWith(`${me.user}!`));
  if (!owner) requirePriv(me, 'Sys.Audit', `/nodes/${task.node}`);
  return task;
}

function pciView(d: SimPciDevice, verbose: boolean): object {
  if (verbose) return { ...d };
  return { id: d.id, class: d.class, vendor: d.vendor, device: d.device, iommugroup: d.iommugroup, ...(d.mdev !== undefined ? { mdev: d.mdev } : {}) };
}

function mappingView(state: SimClusterState, m: SimMapping): Record<string, unknown> {
  return {
    id: m.id, map: [...m.map], digest: state.mappingDigest(),
    ...(m.description !== undefined ? { description: m.description } : {}),
    ...(m.mdev !== undefined ? { mdev: bit(m.mdev) } : {}),
    ...(m.liveMigrationCapable !== undefined ? { 'live-migration-capable': bit(m.liveMigrationCapable) } : {}),
  };
}

function mappingOf(ctx: RouteContext): SimMapping {
  const id = ctx.one('id') as string;
  const m = ctx.state.mappings.get(id);
  if (!m) throw die(`mapping '${id}' not found`);
  return m;
}

const ASSERT_IF_MODIFIED = 'detected modified configuration - file changed by other user? Try again.';

/** POST with background_delay: wait up to N s for the task before answering with its UPID. */
async function answerTask(ctx: RouteContext, task: SimTask): Promise<string | null> {
  const delay = ctx.one('background_delay');
  if (delay === undefined) return task.upid;
  await Promise.race([task.done, ctx.state.timers.sleep(Number(delay) * ctx.state.options.simSecondMs)]);
  if (task.status === 'running') return task.upid;
  if (task.exitstatus === 'OK' || task.exitstatus?.startsWith('WARNINGS')) return null;
  throw die(task.exitstatus ?? 'unexpected status');
}

export function createHandlers(state: SimClusterState): HttpHandler[] {
  const r = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, fn: (ctx: RouteContext) => unknown): HttpHandler =>
    makeRoute(state, method, path, fn);
  const contactNode = state.nodes[0];

  return [
    faultHandler(state),

    r('GET', '/version', () => {
      const version = contactNode?.spec.pveVersion ?? '9.1.9';
      return { version, release: version.split('.').slice(0, 2).join('.'), repoid: '5e5d1fd1e6a2ae3c' };
    }),

    r('GET', '/cluster/status', (ctx) => {
      requirePriv(ctx.identity, 'Sys.Audit', '/');
      const q = state.quorum();
      const nodes = state.nodes.map((n, i) => ({
        type: 'node', id: `node/${n.name}`, name: n.name, nodeid: n.nodeid, ip: n.ip,
        online: bit(state.nodeOnline(n.name)), local: bit(i === 0), level: '',
      }));
      if (state.standalone) return nodes;
      return [{ type: 'cluster', id: 'cluster', name: state.name, nodes: state.nodes.length, quorate: bit(q.quorate), version: 7 }, ...nodes];
    }),

    r('GET', '/cluster/resources', (ctx) => {
      const type = ctx.one('type');
      if (type === 'vm') return guestResources(ctx);
      if (type === 'node') return nodeResources(state);
      if (type === 'storage') return storageResources(state);
      if (type === 'sdn') return [];
      return [...nodeResources(state), ...guestResources(ctx), ...storageResources(state)];
    }),

    r('GET', '/cluster/ha/resources', (ctx) => {
      const type = ctx.one('type');
      return [...state.ha.values()]
        .map((h) => ({ sid: h.sid, type: h.sid.startsWith('ct:') ? 'ct' : 'vm', state: h.state, max_restart: 1, max_relocate: 1, ...(h.group ? { group: h.group } : {}) }))
        .filter((h) => type === undefined || h.type === type);
    }),

    r('GET', '/nodes', () =>
      state.nodes.map((n) => {
        const online = state.nodeOnline(n.name);
        return {
          node: n.name, id: `node/${n.name}`, type: 'node', status: online ? 'online' : 'offline', level: '',
          maxcpu: n.spec.maxcpu ?? 16, maxmem: n.spec.maxmem ?? 64 * 1024 ** 3,
          ...(n.sslFingerprint !== undefined ? { ssl_fingerprint: n.sslFingerprint } : {}),
          ...(online ? { uptime: state.uptime(n.name), cpu: 0.02, mem: 4 * 1024 ** 3 } : {}),
        };
      })),

    r('POST', '/nodes/{node}/status', (ctx) => {
      const node = ctx.one('node') as string;
      requirePriv(ctx.identity, 'Sys.PowerMgmt', `/nodes/${node}`);
      state.fireNodeReboot(node, ctx.one('command') as 'reboot' | 'shutdown');
      return null;
    }),

    r('GET', '/nodes/{node}/qemu', (ctx) => {
      if (!canSee(ctx, 'VM.Audit')) return [];
      return [...state.vms.values()]
        .filter((vm) => vm.node === ctx.one('node'))
        .map((vm) => ({
          vmid: vm.vmid, name: vm.name ?? `VM ${vm.vmid}`, status: vm.status,
          cpus: Number(vm.file.current.get('cores') ?? 1), maxmem: Number(vm.file.current.get('memory') ?? 2048) * 1024 * 1024,
          uptime: vm.startedAt !== undefined ? Math.floor((state.options.now() - vm.startedAt) / 1000) : 0,
          ...(vm.pid !== undefined ? { pid: vm.pid } : {}),
        }));
    }),

    r('GET', '/nodes/{node}/qemu/{vmid}/config', (ctx) => {
      const vm = vmOf(ctx);
      requirePriv(ctx.identity, 'VM.Audit', `/vms/${vm.vmid}`);
      const snapshot = ctx.one('snapshot');
      if (snapshot !== undefined && ctx.one('current') !== undefined) throw die("cannot use 'snapshot' parameter with 'current'");
      if (snapshot !== undefined) throw die(`snapshot '${snapshot}' does not exist`);
      const view = ctx.one('current') === '1' ? currentView(vm.file) : mergedView(vm.file);
      const data = { ...view, digest: vm.digest };
      if (state.faults.takeDigestConflict(vm.vmid)) state.concurrentEdit(vm);
      return data;
    }),

    r('POST', '/nodes/{node}/qemu/{vmid}/config', async (ctx) => {
      const { vm, upd } = checkedUpdate(ctx);
      const identity = ctx.identity;
      const task = state.tasks.start(vm.node, 'qmconfig', String(vm.vmid), identity.authid,
        (t) => applyConfigUpdate(vm, upd, identity, t), [describeUpdate(vm.vmid, upd)]);
      return answerTask(ctx, task);
    }),

    r('PUT', '/nodes/{node}/qemu/{vmid}/config', (ctx) => {
      const { vm, upd } = checkedUpdate(ctx);
      applyConfigUpdate(vm, upd, ctx.identity, { log: () => {}, warn: () => {} });
      return null;
    }),

    r('GET', '/nodes/{node}/qemu/{vmid}/pending', (ctx) => {
      const vm = vmOf(ctx);
      requirePriv(ctx.identity, 'VM.Audit', `/vms/${vm.vmid}`);
      return pendingItems(vm.file);
    }),

    r('GET', '/nodes/{node}/qemu/{vmid}/status/current', (ctx) => {
      const vm = vmOf(ctx);
      requirePriv(ctx.identity, 'VM.Audit', `/vms/${vm.vmid}`);
      const ha = state.haFor(vm.vmid);
      const lock = vm.file.current.get('lock');
      const running = vm.status === 'running';
      return {
        vmid: vm.vmid, name: vm.name ?? `VM ${vm.vmid}`, status: vm.status, qmpstatus: vm.status,
        uptime: running && vm.startedAt !== undefined ? Math.floor((state.options.now() - vm.startedAt) / 1000) : 0,
        cpus: Number(vm.file.current.get('cores') ?? 1), maxmem: Number(vm.file.current.get('memory') ?? 2048) * 1024 * 1024,
        agent: 0, ha: ha ? { managed: 1, state: ha.state } : { managed: 0 },
        ...(running ? { pid: vm.pid, 'running-machine': vm.runningMachine, 'running-qemu': '9.2.0' } : {}),
        ...(lock !== undefined ? { lock } : {}),
      };
    }),

    r('POST', '/nodes/{node}/qemu/{vmid}/status/start', (ctx) => {
      const vm = vmOf(ctx);
      requirePriv(ctx.identity, 'VM.PowerMgmt', `/vms/${vm.vmid}`);
      if (ctx.one('skiplock') !== undefined && ctx.identity.authid !== 'root@pam') throw new SimHttpError(403, 'Only root may use this option.');
      requireQuorum(state);
      const ha = state.haFor(vm.vmid);
      const machine = ctx.one('machine');
      if (ha) {
        // ha-manager starts the VM later; the hastart task only records the request.
        return state.tasks.start(vm.node, 'hastart', String(vm.vmid), ctx.identity.authid, () => {
          ha.state = 'started';
          state.tasks.background(state.timers.sleep(state.options.taskMs).then(() => {
            try {
              if (vm.status !== 'running') startVm(state, vm, { log: () => {} }, machine);
            } catch {
              // ha-manager would retry and log; the VM simply stays stopped here.
            }
          }));
        }).upid;
      }
      return state.tasks.start(vm.node, 'qmstart', String(vm.vmid), ctx.identity.authid, (t) => startVm(state, vm, t, machine)).upid;
    }),

    r('POST', '/nodes/{node}/qemu/{vmid}/status/stop', (ctx) => {
      const vm = vmOf(ctx);
      requirePriv(ctx.identity, 'VM.PowerMgmt', `/vms/${vm.vmid}`);
      const ha = haStop(ctx, vm);
      if (ha) return ha;
      if (ctx.one('overrule-shutdown') === '1') {
        for (const t of state.tasks.all()) {
          if (t.type === 'qmshutdown' && t.id === String(vm.vmid) && t.status === 'running') state.tasks.abort(t.upid, 'interrupted by signal');
        }
      }
      return state.tasks.start(vm.node, 'qmstop', String(vm.vmid), ctx.identity.authid, () => hardStop(vm)).upid;
    }),

    r('POST', '/nodes/{node}/qemu/{vmid}/status/shutdown', (ctx) => {
      const vm = vmOf(ctx);
      requirePriv(ctx.identity, 'VM.PowerMgmt', `/vms/${vm.vmid}`);
      const timeout = ctx.one('timeout');
      const forceStop = ctx.one('forceStop') === '1';
      const ha = haStop(ctx, vm);
      if (ha) return ha;
      return state.tasks.start(vm.node, 'qmshutdown', String(vm.vmid), ctx.identity.authid,
        (t) => shutdownVm(state, vm, t, timeout === undefined ? undefined : Number(timeout), forceStop)).upid;
    }),

    r('GET', '/nodes/{node}/tasks/{upid}/status', (ctx) => taskStatus(taskOf(ctx))),

    r('GET', '/nodes/{node}/tasks/{upid}/log', (ctx) => {
      const task = taskOf(ctx);
      if (ctx.one('download') === '1') return new HttpResponse(`${task.log.join('\n')}\n`, { headers: { 'content-type': 'text/plain' } });
      const start = Number(ctx.one('start') ?? 0);
      const limit = Number(ctx.one('limit') ?? 50);
      const lines = task.log.slice(start, start + limit).map((t, i) => ({ n: start + i + 1, t }));
      return new WithTotal(lines, task.log.length);
    }),

    r('GET', '/nodes/{node}/hardware/pci', (ctx) => {
      requireAnyPriv(ctx, ['Sys.Audit', 'Sys.Modify'], '/');
      const blacklist = splitList(ctx.one('pci-class-blacklist') ?? '05;06;0b');
      const verbose = ctx.one('verbose') !== '0';
      return state.pci(ctx.one('node') as string)
        .filter((d) => !blacklist.some((prefix) => d.class.replace(/^0x/, '').startsWith(prefix)))
        .map((d) => pciView(d, verbose));
    }),

    r('GET', '/nodes/{node}/capabilities/qemu/machines', (ctx) => {
      const versions = [...state.machineVersions(ctx.one('node') as string)].reverse();
      if (ctx.one('arch') === 'aarch64') return versions.map((v) => ({ id: `virt-${v}`, type: 'virt', version: v }));
      const out: object[] = [];
      versions.forEach((v, i) => {
        const tags = i === 0 ? [`${v}+pve1`, v] : [v];
        for (const t of tags) {
          out.push({ id: `pc-q35-${t}`, type: 'q35', version: t });
          out.push({ id: `pc-i440fx-${t}`, type: 'i440fx', version: t });
        }
      });
      return out;
    }),

    r('GET', '/cluster/mapping/pci', (ctx) => {
      const checkNode = ctx.one('check-node');
      if (checkNode !== undefined) {
        if (!state.node(checkNode)) throw die(`no such cluster node '${checkNode}'`);
        if (!state.nodeOnline(checkNode)) throw new SimHttpError(595, 'No route to host');
      }
      if (!['Mapping.Audit', 'Mapping.Use', 'Mapping.Modify'].some((p) => canSee(ctx, p))) return [];
      return [...state.mappings.values()].map((m) => ({
        ...mappingView(state, m),
        ...(checkNode !== undefined ? { checks: checkMappingOnNode(m, checkNode, state.pci(checkNode)) } : {}),
      }));
    }),

    r('POST', '/cluster/mapping/pci', (ctx) => {
      requirePriv(ctx.identity, 'Mapping.Modify', '/mapping/pci');
      requireQuorum(state);
      const id = ctx.one('id') as string;
      if (state.mappings.has(id)) throw die(`pci ID '${id}' already defined`);
      const description = ctx.one('description');
      const mdev = ctx.one('mdev');
      const lmc = ctx.one('live-migration-capable');
      state.mappings.set(id, {
        id, map: ctx.list('map'),
        ...(description !== undefined ? { description } : {}),
        ...(mdev !== undefined ? { mdev: mdev === '1' } : {}),
        ...(lmc !== undefined ? { liveMigrationCapable: lmc === '1' } : {}),
      });
      return null;
    }),

    r('GET', '/cluster/mapping/pci/{id}', (ctx) => {
      const m = mappingOf(ctx);
      requireAnyPriv(ctx, ['Mapping.Audit', 'Mapping.Use', 'Mapping.Modify'], `/mapping/pci/${m.id}`);
      return mappingView(state, m);
    }),

    r('PUT', '/cluster/mapping/pci/{id}', (ctx) => {
      const m = mappingOf(ctx);
      requirePriv(ctx.identity, 'Mapping.Modify', `/mapping/pci/${m.id}`);
      requireQuorum(state);
      const digest = ctx.one('digest');
      if (digest !== undefined && digest !== state.mappingDigest()) throw die(ASSERT_IF_MODIFIED);
      for (const key of splitList(ctx.one('delete') ?? '')) {
        if (key === 'description') delete m.description;
        else if (key === 'mdev') delete m.mdev;
        else if (key === 'live-migration-capable') delete m.liveMigrationCapable;
        else if (key === 'map') m.map = [];
      }
      const description = ctx.one('description');
      if (description !== undefined) m.description = description;
      const mdev = ctx.one('mdev');
      if (mdev !== undefined) m.mdev = mdev === '1';
      const lmc = ctx.one('live-migration-capable');
      if (lmc !== undefined) m.liveMigrationCapable = lmc === '1';
      if (ctx.params.map !== undefined) m.map = ctx.list('map');
      return null;
    }),

    r('DELETE', '/cluster/mapping/pci/{id}', (ctx) => {
      const m = mappingOf(ctx);
      requirePriv(ctx.identity, 'Mapping.Modify', '/mapping/pci');
      requireQuorum(state);
      state.mappings.delete(m.id);
      return null;
    }),

    r('POST', '/access/ticket', async (ctx) => {
      const answer = state.auth.login({
        ...(ctx.one('username') !== undefined ? { username: ctx.one('username') as string } : {}),
        ...(ctx.one('realm') !== undefined ? { realm: ctx.one('realm') as string } : {}),
        ...(ctx.one('password') !== undefined ? { password: ctx.one('password') as string } : {}),
        ...(ctx.one('tfa-challenge') !== undefined ? { 'tfa-challenge': ctx.one('tfa-challenge') as string } : {}),
      });
      if (!answer) {
        if (state.options.authFailureDelayMs > 0) await state.timers.sleep(state.options.authFailureDelayMs);
        throw new SimHttpError(401, 'authentication failure');
      }
      return answer;
    }),

    notImplementedHandler(state),
  ];
}
