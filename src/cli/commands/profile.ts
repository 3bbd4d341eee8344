import { openProfileStore, type Profile } from '../../inventory/profiles.js';
import { EXIT } from '../exit-codes.js';
import { reportError } from '../common.js';

export interface ProfileAddFlags {
  sshUser?: string; sshPort?: string; identity?: string; agent?: boolean; knownHosts?: string; hostKey?: string; sudo?: boolean;
  api?: string; tlsFingerprint?: string; ca?: string; tokenId?: string; tokenSecretEnv?: string; username?: string; passwordEnv?: string;
}

export async function profileAdd(name: string, f: ProfileAddFlags): Promise<number> {
  try {
    const store = await openProfileStore();
    const p: Profile = {
      sshUser: f.sshUser, sshPort: f.sshPort ? Number(f.sshPort) : undefined, identityFile: f.identity, agent: f.agent, knownHosts: f.knownHosts,
      hostKey: f.hostKey, sudo: f.sudo, api: f.api, tlsFingerprint: f.tlsFingerprint, ca: f.ca, tokenId: f.tokenId,
      tokenSecretEnv: f.tokenSecretEnv, username: f.username, passwordEnv: f.passwordEnv,
    };
    store.set(name, Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as Profile);
    process.stderr.write(`saved profile "${name}" in ${store.path} (mode 0600; secrets are not stored, only where to find them)\n`);
    return EXIT.ok;
  } catch (err) {
    return reportError(err, {});
  }
}

export async function profileList(json: boolean): Promise<number> {
  try {
    const all = (await openProfileStore()).list();
    if (json) process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
    else for (const [name, p] of Object.entries(all)) process.stdout.write(`${name}: ${Object.entries(p).map(([k, v]) => `${k}=${String(v)}`).join(' ')}\n`);
    return EXIT.ok;
  } catch (err) {
    return reportError(err, {});
  }
}

export async function profileRemove(name: string): Promise<number> {
  try {
    if (!(await openProfileStore()).remove(name)) {
      process.stderr.write(`no profile named "${name}"\n`);
      return EXIT.error;
    }
    return EXIT.ok;
  } catch (err) {
    return reportError(err, {});
  }
}
