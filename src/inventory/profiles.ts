/**
 * Stored connection profiles (conf, file mode 0600): how to reach a node or a
 * cluster from a laptop without writing an inventory. Profiles never hold a
 * secret value, only where to get it (env var, file, or prompt).
 */
import { z } from 'zod';
import { InputError } from '../errors.js';
import { ENV_NAME, HOST_NAME, PVE_TOKEN_ID, PVE_USER, SSH_FINGERPRINT, TLS_FINGERPRINT } from '../patterns.js';

export const Profile = z.strictObject({
  sshUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/).optional(),
  sshPort: z.number().int().min(1).max(65535).optional(),
  identityFile: z.string().optional(),
  agent: z.boolean().optional(),
  knownHosts: z.string().optional(),
  hostKey: z.string().regex(SSH_FINGERPRINT).optional(),
  sudo: z.boolean().optional(),
  api: z.url({ protocol: /^https$/ }).optional(),
  tlsFingerprint: z.string().regex(TLS_FINGERPRINT).optional(),
  ca: z.string().optional(),
  tokenId: z.string().regex(PVE_TOKEN_ID).optional(),
  tokenSecretEnv: z.string().regex(ENV_NAME).optional(),
  username: z.string().regex(PVE_USER).optional(),
  passwordEnv: z.string().regex(ENV_NAME).optional(),
  defaultHost: z.string().regex(HOST_NAME).optional(),
});
export type Profile = z.infer<typeof Profile>;

export interface ProfileStore {
  list(): Record<string, Profile>;
  get(name: string): Profile | undefined;
  set(name: string, p: Profile): void;
  remove(name: string): boolean;
  readonly path: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** conf-backed store; `cwd` overrides the folder (tests, or PVE_PASSTHROUGH_CONFIG_DIR). */
export async function openProfileStore(cwd = process.env.PVE_PASSTHROUGH_CONFIG_DIR): Promise<ProfileStore> {
  const { default: Conf } = await import('conf');
  const conf = new Conf<{ profiles: Record<string, Profile> }>({
    projectName: 'pve-passthrough',
    configName: 'profiles',
    cwd,
    configFileMode: 0o600,
    defaults: { profiles: {} },
    projectSuffix: '',
  });
  return {
    path: conf.path,
    list: () => conf.get('profiles'),
    get: (name) => conf.get('profiles')[name],
    set(name, p) {
      if (!NAME.test(name)) throw new InputError(`profile name "${name}" is not valid`, [], { fix: 'use letters, digits, ".", "_" or "-"' });
      const parsed = Profile.safeParse(p);
      if (!parsed.success) throw new InputError(`profile "${name}": ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      conf.set('profiles', { ...conf.get('profiles'), [name]: parsed.data });
    },
    remove(name) {
      const all = { ...conf.get('profiles') };
      if (!(name in all)) return false;
      delete all[name];
      conf.set('profiles', all);
      return true;
    },
  };
}
