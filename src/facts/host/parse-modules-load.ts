/**
 * Modules loaded at boot by name:
 *   /etc/modules              one module per line, optional arguments after it, `#` comments
 *   /etc/modules-load.d/*.conf one module per line, `#` and `;` comments
 */
import { MODULE_NAME } from '../../patterns.js';
import { excerpt, splitLines, type Parsed } from './text.js';

export interface ModuleToLoad {
  readonly module: string;
  readonly file: string;
}

export function parseModulesLoad(file: string, content: string): Parsed<ModuleToLoad[]> {
  const modules: ModuleToLoad[] = [];
  const errors: string[] = [];
  const etcModules = file === '/etc/modules';
  splitLines(content).forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const words = line.split(/\s+/);
    const name = words[0] ?? '';
    if (!MODULE_NAME.test(name) || (!etcModules && words.length > 1)) {
      errors.push(`${file}:${i + 1}: not a module name ${excerpt(line)}`);
      return;
    }
    modules.push({ module: name, file });
  });
  return { value: modules, errors };
}

/** `/proc/modules`: the first field of each line. */
export function parseProcModules(output: string): Parsed<string[]> {
  const names: string[] = [];
  const errors: string[] = [];
  for (const line of splitLines(output)) {
    const name = line.split(' ')[0] ?? '';
    if (name === '') continue;
    if (MODULE_NAME.test(name)) names.push(name);
    else errors.push(`/proc/modules: unexpected line ${excerpt(line)}`);
  }
  return { value: names, errors };
}
