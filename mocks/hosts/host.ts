/**
 * SimHost: one simulated PVE (or plain Debian) node as a state machine.
 *
 * Three layers of state, as on a real machine:
 *  - the root file system (config files: what the tool edits),
 *  - what is INSTALLED for the next boot (grub.cfg, ESP contents, initramfs),
 *    changed only by update-grub / proxmox-boot-tool refresh / update-initramfs,
 *  - the running boot (/proc, /sys, dmesg, bound drivers), rebuilt from the
 *    installed layer on reboot.
 * So editing a file without the matching refresh changes nothing after a
 * reboot, exactly the mistake the tool must not make.
 */
import { randomUUID } from 'node:crypto';
import { addVfioModules, computeBoot } from './boot.js';
import type { BootState, InitramfsSnapshot, InstalledBoot } from './boot.js';
import { bootToolCommands } from './commands/boot-tools.js';
import { fileCommands } from './commands/files.js';
import { systemCommands } from './commands/system.js';
import { evalGrubFiles, grubKernelArgs } from './grub-config.js';
import { hostNeededDevices } from './host-needs.js';
import { ConnectionDrop, runScript } from './interpreter.js';
import type { Handler, ShellHost } from './interpreter.js';
import type { ConfigFile } from './modprobe-config.js';
import { parseModprobe } from './modprobe-config.js';
import { resolveProfile } from './profiles.js';
import type { ProfileData, ProfileOverrides } from './profile-types.js';
import { materialise } from './sysfs.js';
import { Vfs, byteOrder } from './vfs.js';
import type { Pmxcfs } from './pmxcfs.js';

export type FailableCommand = 'update-grub' | 'update-initramfs' | 'proxmox-boot-tool refresh';

export interface HostFaults {
  /** A reboot never comes back (connections refused forever). */
  neverReturns?: boolean;
  /** How long the host is down during a reboot (default 300 ms). */
  rebootDelayMs?: number;
  /** How long pve-guests.service stays "activating" after a boot before the onboot guests are up (default 200 ms). */
  guestsStartDelayMs?: number;
  /** Drop the connection half-way through a `cat > tmp` (true = once; or a count / a path filter). */
  /** `at`: 'cat' (default) cuts the temp file half-way; 'after-mv' drops right after the new file landed. */
  dropDuringWrite?: boolean | { readonly times?: number; readonly pathIncludes?: string; readonly at?: 'cat' | 'after-mv' };
  /** Make a refresh command fail with this stderr (string = every time; object = `times` times). */
  failCommand?: Partial<Record<FailableCommand, string | { readonly stderr: string; times: number }>>;
  /**
   * A refresh command takes this long before it runs (server level; `times` runs, default 1).
   * A client that closes the channel first (its timeout) stops it: like sshd's killpg, the
   * command never ran and changed nothing.
   */
  slowCommand?: Partial<Record<FailableCommand, { readonly ms: number; times?: number }>>;
  /** The SSH host key changes when the host next comes up (server level). */
  hostKeyChanged?: boolean;
}

export interface Violation {
  readonly script: string;
  readonly message: string;
}

export interface SimHostOptions {
  readonly faults?: HostFaults;
  /** Login user: 'root' (default) or another name (uid 1000). */
  readonly user?: string;
  /** The non-root user may run `sudo -n` without a password. */
  readonly sudo?: boolean;
  readonly overrides?: ProfileOverrides;
  /** Source of boot ids (default: random UUIDs). */
  readonly newBootId?: () => string;
}

export interface ExecOutcome {
  readonly stdout: string;
  readonly stderr: string;
  /** null = no exit status (the connection dropped). */
  readonly code: number | null;
  /** The script asked for a reboot: the caller drops the connection and later calls `completeReboot()`. */
  readonly reboot: boolean;
  /** A fault dropped the connection mid-script. */
  readonly dropped: boolean;
}

export type HostPhase = 'up' | 'rebooting' | 'cut-off';

const USER_UID = 1000;

export class SimHost implements ShellHost {
  readonly profile: ProfileData;
  readonly vfs = new Vfs();
  readonly commands: Map<string, Handler>;
  readonly violations: Violation[] = [];
  /** Things the simulated kernel refused or that broke the host (refused unbinds, cut-off boots). */
  readonly incidents: string[] = [];
  readonly commandLog: string[] = [];
  readonly hostNeeds: ReadonlyMap<string, string>;
  readonly user: string;
  readonly sudo: boolean;
  faults: HostFaults;
  phase: HostPhase = 'up';
  reboots = 0;
  /** Votes currently online in the cluster (null = every node up); a fleet simulator sets this. */
  clusterVotesOnline: number | null = null;
  /** HA's answer to `ha-manager crm-command node-maintenance`; a fleet simulator wires it to its API (null: no HA here). */
  haMaintenance: ((node: string, enable: boolean) => void) | null = null;
  /**
   * pve-guests.service (a oneshot running `pvesh create /nodes/localhost/startall`): a fleet
   * simulator wires `startGuests` to its API. After a boot the unit is "activating" until the
   * onboot guests were started, as on PVE, where SSH answers well before that.
   */
  readonly guestsService: { startGuests: (() => void) | null; state: 'active' | 'activating' } = { startGuests: null, state: 'active' };
  /** The cluster file system at /etc/pve, shared with the other nodes of the cluster (mountPmxcfs). */
  pmxcfs: Pmxcfs | null = null;
  /** Offset of this host's clock from the real one (tests move time forward). */
  clockOffsetMs = 0;
  bootId: string;
  booted: BootState;
  readonly installed: InstalledBoot;
  private sysDirty = true;
  private readonly newBootId: () => string;

  constructor(profile: string | ProfileData, opts: SimHostOptions = {}) {
    this.profile = resolveProfile(profile, opts.overrides);
    this.faults = { ...opts.faults };
    this.user = opts.user ?? 'root';
    this.sudo = opts.sudo ?? false;
    this.newBootId = opts.newBootId ?? randomUUID;
    this.hostNeeds = hostNeededDevices(this.profile);
    this.installFiles();
    // A fresh install: the loader and initramfs match the config files.
    const grub = evalGrubFiles(this.grubFiles());
    const initramfs = this.snapshotInitramfs();
    this.installed = { grubArgs: grub.ok ? grubKernelArgs(grub.vars) : '', initramfs, esp: null };
    if (this.profile.boot.loader === 'grub') this.writeGrubCfg(this.installed.grubArgs);
    if (this.profile.boot.loader !== 'grub') {
      const esp = this.espSnapshot(initramfs);
      this.installed.esp = typeof esp === 'string' ? null : esp;
    }
    this.bootId = this.newBootId();
    this.booted = this.computeBoot();
    this.commands = new Map([
      ...fileCommands(this, () => {
        throw new ConnectionDrop();
      }),
      ...systemCommands(this),
      ...bootToolCommands(this),
    ]);
  }

  /** Mount the cluster's shared /etc/pve here; files this node had there are merged in (first writer wins). */
  mountPmxcfs(fs: Pmxcfs): void {
    const etc = this.vfs.get('/etc');
    if (etc?.kind !== 'dir') throw new Error('no /etc');
    const mine = etc.children.get('pve');
    if (mine?.kind === 'dir') for (const [name, node] of mine.children) if (!fs.root.children.has(name)) fs.root.children.set(name, node);
    etc.children.set('pve', fs.root);
    this.pmxcfs = fs;
  }

  /** `date +%s`: the cluster's clock when /etc/pve is shared, else this host's. */
  nowSeconds(): number {
    return this.pmxcfs ? this.pmxcfs.nowSeconds() : Math.floor((Date.now() + this.clockOffsetMs) / 1000);
  }

  get uid(): number {
    return this.user === 'root' ? 0 : USER_UID;
  }
  get isPve(): boolean {
    return this.profile.pveVersion !== null;
  }
  get usesProxmoxBootTool(): boolean {
    return (this.vfs.readOr('/etc/kernel/proxmox-boot-uuids') ?? '').trim() !== '';
  }

  /** Run one exec request (one SSH exec). */
  exec(script: string, opts: { stdin?: string } = {}): ExecOutcome {
    if (this.phase !== 'up') throw new Error(`host ${this.profile.hostname} is not up (${this.phase})`);
    this.commandLog.push(script);
    this.ensureSys();
    const r = runScript(this, script, { uid: this.uid, sudoAllowed: this.sudo, stdin: opts.stdin ?? '' });
    if (r.reboot) this.phase = 'rebooting';
    return r;
  }

  /** Finish a reboot: new boot id, /run cleared, /proc + /sys + dmesg rebuilt from the installed state. */
  completeReboot(): void {
    this.reboots++;
    this.vfs.removeTree('/run');
    this.vfs.mkdir('/run', { meta: { mode: 0o755 } });
    this.bootId = this.newBootId();
    this.booted = this.computeBoot();
    // proxmox-boot-cleanup.service drops a one-shot pin once it was used.
    if (this.vfs.exists('/etc/kernel/next-boot-pin')) this.vfs.unlink('/etc/kernel/next-boot-pin');
    this.sysDirty = true;
    if (this.booted.cutOff) {
      this.phase = 'cut-off';
      this.incidents.push(`boot ${this.reboots}: host cut off: ${this.booted.cutOff}`);
    } else {
      this.phase = 'up';
      this.startGuestsLater();
    }
  }

  private startGuestsLater(): void {
    const svc = this.guestsService;
    if (!svc.startGuests) return;
    svc.state = 'activating';
    const bootId = this.bootId;
    setTimeout(() => {
      if (this.bootId !== bootId || this.phase !== 'up') return;
      svc.startGuests?.();
      svc.state = 'active';
    }, this.faults.guestsStartDelayMs ?? 200).unref();
  }

  setFaults(faults: HostFaults): void {
    this.faults = { ...this.faults, ...faults };
  }

  /** Out-of-band changes for drift tests ("someone logged in and …"). */
  readonly drift = {
    removeFile: (path: string): void => {
      this.vfs.unlink(path);
    },
    writeFile: (path: string, content: string): void => {
      this.vfs.mkdir(path.slice(0, path.lastIndexOf('/')) || '/', { parents: true });
      this.vfs.write(path, content);
    },
    setProcCmdline: (cmdline: string): void => {
      this.booted.cmdline = cmdline;
      this.sysDirty = true;
    },
    rebindDriver: (address: string, driver: string | null): void => {
      if (!this.booted.drivers.has(address)) throw new Error(`no PCI device ${address}`);
      this.booted.drivers.set(address, driver);
      this.sysDirty = true;
    },
  };

  driverOf(address: string): string | null {
    return this.booted.drivers.get(address) ?? null;
  }

  // ---- ShellHost ---------------------------------------------------------

  recordViolation(script: string, message: string): void {
    this.violations.push({ script, message });
  }

  writableByUser(path: string): boolean {
    return path.startsWith('/tmp/') || path.startsWith(`/home/${this.user}/`);
  }

  takeDropFault(path: string, at: 'cat' | 'after-mv' = 'cat'): boolean {
    const f = this.faults.dropDuringWrite;
    if (!f) return false;
    if (((typeof f === 'object' && f.at) || 'cat') !== at) return false;
    if (typeof f === 'object' && f.pathIncludes && !path.includes(f.pathIncludes)) return false;
    const times = typeof f === 'object' ? f.times ?? 1 : 1;
    this.faults.dropDuringWrite = times > 1 ? { ...(typeof f === 'object' ? f : {}), times: times - 1 } : false;
    return true;
  }

  /** Consume a failCommand fault: the stderr to print, or null to run normally. */
  takeCommandFault(cmd: FailableCommand): string | null {
    const f = this.faults.failCommand?.[cmd];
    if (f === undefined) return null;
    if (typeof f === 'string') return f;
    if (f.times <= 0) return null;
    f.times--;
    return f.stderr;
  }

  /** Consume a slowCommand fault for the first slow command this script runs: the delay, or 0. */
  takeSlowness(script: string): number {
    for (const [cmd, f] of Object.entries(this.faults.slowCommand ?? {})) {
      if (!f || (f.times ?? 1) <= 0 || !script.includes(cmd)) continue;
      f.times = (f.times ?? 1) - 1;
      return f.ms;
    }
    return 0;
  }

  sysfsWrite(path: string, raw: string): string | null {
    const value = raw.trim();
    const b = this.booted;
    const logRefusal = (msg: string): string => {
      this.incidents.push(msg);
      b.dmesg.push({ t: this.uptime(), text: `pve-sim: ${msg}` });
      this.sysDirty = true;
      this.ensureSys();
      return 'Device or resource busy';
    };
    let m = /\/(\d{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])\/driver_override$/.exec(path);
    if (m) {
      if (value === '') b.overrides.delete(m[1]!);
      else b.overrides.set(m[1]!, value);
      this.refreshSys();
      return null;
    }
    m = /^\/sys\/bus\/pci\/drivers\/([^/]+)\/(bind|unbind)$/.exec(path);
    if (m) {
      const [, driver, verb] = m as unknown as [string, string, string];
      const spec = this.profile.pci.find((d) => d.address === value);
      if (!spec) return 'No such device';
      const current = b.drivers.get(value) ?? null;
      if (verb === 'unbind') {
        if (current !== driver) return 'No such device';
        const why = this.hostNeeds.get(value);
        if (why && current === spec.driver) return logRefusal(`refused unbind of ${value} from ${driver}: the host needs it (${why}); a real host would be cut off`);
        b.drivers.set(value, null);
      } else {
        if (current !== null) return 'Device or resource busy';
        if (driver === 'vfio-pci') {
          if (b.overrides.get(value) !== 'vfio-pci' && !b.vfioIds.has(spec.id)) return 'No such device';
          if (!b.iommuActive) {
            b.dmesg.push({ t: this.uptime(), text: `vfio-pci: probe of ${value} failed with error -22` });
            this.refreshSys();
            return 'Invalid argument';
          }
        } else if (driver !== spec.driver) return 'No such device';
        b.drivers.set(value, driver);
      }
      this.refreshSys();
      return null;
    }
    if (path === '/sys/bus/pci/drivers_probe') {
      const spec = this.profile.pci.find((d) => d.address === value);
      if (!spec) return 'No such device';
      if ((b.drivers.get(value) ?? null) !== null) return null;
      const override = b.overrides.get(value);
      if (override === 'vfio-pci') {
        if (b.modules.has('vfio_pci') && b.iommuActive) b.drivers.set(value, 'vfio-pci');
      } else if (override === undefined || override === spec.driver) {
        b.drivers.set(value, spec.driver);
      }
      this.refreshSys();
      return null;
    }
    return 'Permission denied';
  }

  /** `modprobe vfio-pci` at run time: loads vfio and binds unbound devices it may claim. */
  loadVfioPci(): void {
    const b = this.booted;
    if (b.modules.has('vfio_pci')) return;
    addVfioModules(b.modules, b.kernel);
    b.dmesg.push({ t: this.uptime(), text: 'VFIO - User Level meta-driver version: 0.3' });
    // Live options from /etc/modprobe.d (and the running command line, as kmod reads it) apply to a module loaded now.
    const live = parseModprobe(this.confFiles('/etc/modprobe.d'), b.cmdline);
    const ids = new Set([...b.vfioIds, ...live.vfioIds]);
    b.vfioIds = ids;
    b.vfioDisableVga = live.vfioDisableVga;
    if (b.iommuActive) {
      for (const d of this.profile.pci) {
        if ((b.drivers.get(d.address) ?? null) !== null) continue;
        if (b.overrides.get(d.address) === 'vfio-pci' || ids.has(d.id)) b.drivers.set(d.address, 'vfio-pci');
      }
    }
    this.refreshSys();
  }

  // ---- files the boot tools read ------------------------------------------

  /** Regular files `dir/*.conf`, sorted, as systemd and modprobe read them. */
  confFiles(dir: string, suffix = '.conf'): ConfigFile[] {
    return this.vfs
      .list(dir)
      .filter((n) => n.endsWith(suffix))
      .sort(byteOrder)
      .map((n) => ({ path: `${dir}/${n}`, content: this.vfs.readOr(`${dir}/${n}`) }))
      .filter((f): f is ConfigFile => f.content !== null);
  }

  grubFiles(): ConfigFile[] {
    const main = this.vfs.readOr('/etc/default/grub');
    return [...(main !== null ? [{ path: '/etc/default/grub', content: main }] : []), ...this.confFiles('/etc/default/grub.d', '.cfg')];
  }

  modulesLoadFiles(): ConfigFile[] {
    const main = this.vfs.readOr('/etc/modules');
    const dropIns = this.confFiles('/etc/modules-load.d').filter((f) => this.vfs.get(f.path, false)?.kind === 'file');
    return [...(main !== null ? [{ path: '/etc/modules', content: main }] : []), ...dropIns];
  }

  snapshotInitramfs(): InitramfsSnapshot {
    return { files: [...this.confFiles('/etc/modprobe.d'), ...this.modulesLoadFiles()], kernels: [...this.profile.kernel.installed] };
  }

  /** What a proxmox-boot-tool sync would put on the ESPs now, or an error line. */
  espSnapshot(initramfs: InitramfsSnapshot): InstalledBoot['esp'] | string {
    const kernels = [...this.profile.kernel.installed];
    if (this.profile.boot.loader === 'systemd-boot') {
      const file = this.vfs.readOr('/etc/kernel/cmdline');
      // Missing file: the hook falls back to the running command line.
      const running = (this.booted as BootState | undefined)?.cmdline ?? '';
      const line = file === null ? running.replace(/^initrd=\S+\s*/, '') : file.split('\n')[0]!.trim();
      if (!/(^|\s)root=/.test(line)) return 'No root= parameter in /etc/kernel/cmdline found!';
      return { kind: 'uefi', cmdline: line, kernels, initramfs };
    }
    const grub = evalGrubFiles(this.grubFiles());
    if (!grub.ok) return grub.error;
    return { kind: 'grub', cmdline: grubKernelArgs(grub.vars), kernels, initramfs };
  }

  private computeBoot(): BootState {
    return computeBoot({
      profile: this.profile,
      installed: this.installed,
      modulesLoadFiles: this.modulesLoadFiles(),
      pins: { pin: this.vfs.readOr('/etc/kernel/proxmox-boot-pin')?.trim() || null, nextBoot: this.vfs.readOr('/etc/kernel/next-boot-pin')?.trim() || null },
      hostNeeds: this.hostNeeds,
      builtinModules: this.builtinModules(),
    });
  }

  /** /lib/modules/<k>/modules.builtin of each installed kernel (module names, `_` form). */
  builtinModules(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const k of this.profile.kernel.installed) {
      const text = this.vfs.readOr(`/lib/modules/${k}/modules.builtin`);
      if (text === null) continue;
      out[k] = text.split('\n').filter((l) => l.endsWith('.ko')).map((l) => l.slice(l.lastIndexOf('/') + 1, -3).replace(/-/g, '_'));
    }
    return out;
  }

  /** Seconds since boot for log lines: grows with activity, no clock needed. */
  uptime(): number {
    return 60 + this.commandLog.length * 0.5;
  }

  private ensureSys(): void {
    if (!this.sysDirty) return;
    materialise(this.vfs, { profile: this.profile, boot: this.booted, bootId: this.bootId });
    this.sysDirty = false;
  }

  private refreshSys(): void {
    this.sysDirty = true;
    this.ensureSys();
  }

  // ---- install ---------------------------------------------------------------

  private installFiles(): void {
    const p = this.profile;
    const v = this.vfs;
    const put = (path: string, content: string, mode = 0o644): void => {
      v.mkdir(path.slice(0, path.lastIndexOf('/')), { parents: true });
      v.write(path, content, { mode });
    };
    for (const d of ['/etc/default/grub.d', '/etc/modprobe.d', '/etc/modules-load.d', '/etc/kernel', '/boot/grub', '/run', '/var/lib', '/root']) v.mkdir(d, { parents: true });
    v.mkdir('/tmp', { meta: { mode: 0o1777 } });
    if (this.user !== 'root') v.mkdir(`/home/${this.user}`, { parents: true, meta: { uid: USER_UID, gid: USER_UID } });
    put('/etc/hostname', `${p.hostname}\n`);
    put('/etc/debian_version', `${p.debianVersion}\n`);
    put('/etc/default/grub', p.boot.defaultGrub ?? defaultGrub(p.pveVersion !== null));
    put('/etc/modules', ETC_MODULES);
    v.symlink('/etc/modules-load.d/modules.conf', '../modules');
    if (p.pveVersion !== null) {
      put('/etc/modprobe.d/pve-blacklist.conf', PVE_BLACKLIST);
      v.mkdir('/etc/pve', { parents: true });
    }
    if (p.block.rows.some((r) => r.fstype === 'zfs_member')) put('/etc/modprobe.d/zfs.conf', 'options zfs zfs_arc_max=8589934592\n');
    if (p.boot.loader === 'systemd-boot') put('/etc/kernel/cmdline', p.boot.kernelCmdline ?? 'root=ZFS=rpool/ROOT/pve-1 boot=zfs\n');
    if (p.boot.loader !== 'grub') put('/etc/kernel/proxmox-boot-uuids', (p.boot.espUuids ?? []).map((u) => `${u}\n`).join(''));
    if (p.kernel.pin) put('/etc/kernel/proxmox-boot-pin', `${p.kernel.pin}\n`);
    for (const k of p.kernel.installed) {
      put(`/boot/vmlinuz-${k}`, `vmlinuz ${k}\n`);
      put(`/boot/initrd.img-${k}`, `initrd ${k}\n`);
      put(`/boot/config-${k}`, `CONFIG_VFIO=m\n`);
    }
    if (p.corosync !== null) put('/etc/pve/corosync.conf', p.corosync, 0o640);
    for (const [path, content] of Object.entries(p.files ?? {})) put(path, content);
  }

  /** Called by update-grub: write the real-looking grub.cfg for a plain GRUB host. */
  writeGrubCfg(args: string): void {
    const p = this.profile;
    const root = p.boot.grubRoot ?? 'root=/dev/mapper/pve-root ro';
    const entries = [...p.kernel.installed]
      .reverse()
      .map((k) => `menuentry 'Proxmox VE GNU/Linux, with Linux ${k}' {\n\tlinux\t/boot/vmlinuz-${k} ${root} ${args}\n\tinitrd\t/boot/initrd.img-${k}\n}\n`)
      .join('');
    this.vfs.write('/boot/grub/grub.cfg', `#\n# DO NOT EDIT THIS FILE\n#\n# It is automatically generated by grub-mkconfig\n#\n${entries}`, { mode: 0o444 });
  }
}

function defaultGrub(pve: boolean): string {
  return [
    "# If you change this file, run 'update-grub' afterwards to update",
    '# /boot/grub/grub.cfg.',
    '# For full documentation of the options in this file, see:',
    "#   info -f grub -n 'Simple configuration'",
    '',
    'GRUB_DEFAULT=0',
    'GRUB_TIMEOUT=5',
    pve ? 'GRUB_DISTRIBUTOR="Proxmox VE"' : 'GRUB_DISTRIBUTOR=`( . /etc/os-release && echo ${NAME} )`',
    'GRUB_CMDLINE_LINUX_DEFAULT="quiet"',
    'GRUB_CMDLINE_LINUX=""',
    '',
    '# Uncomment to disable graphical terminal',
    '#GRUB_TERMINAL=console',
    '',
  ].join('\n');
}

const ETC_MODULES = `# /etc/modules: kernel modules to load at boot time.
#
# This file contains the names of kernel modules that should be loaded
# at boot time, one per line. Lines beginning with "#" are ignored.
# Parameters can be specified after the module name.

`;

const PVE_BLACKLIST = `# This file contains a list of modules which are not supported by Proxmox VE

# nvidiafb see bugreport https://bugzilla.proxmox.com/show_bug.cgi?id=701
blacklist nvidiafb
`;
