/** Host facts: the batched read script, its parsers, and the assembled HostFacts. */
export * from './types.js';
export { factsSections, factsSectionKeys, OWNED_FILES, OWNED_FILE_PATHS, READ_FILES, READ_DIRS, READ_DIR_GLOBS } from './script.js';
export { assembleHostFacts, type AssembleContext } from './assemble.js';
export { gatherHostFacts, readFactSections, type GatherOptions } from './gather.js';
export { factsFingerprint } from './fingerprint.js';
export { kernelNumbers, compareKernels, nextKernel } from './parse-kernel.js';
export { tokenizeCmdline, parseProcCmdline, cmdlineHas, type CmdlineToken } from './parse-proc-cmdline.js';
export { evaluateGrub, sourceGrubFile, grubSourceOrder } from './grub-defaults.js';
export { normalizeModule, sameModule, modprobeFileOrder, parseModprobeConfig, optionsOf, softdepOf, installOf, isBlacklisted, moduleParam, vfioPciIds, renderModprobeC, modprobeConfigFrom, MODPROBE_DIRS } from './modprobe-d.js';
export { modulesLoadFileOrder, parseModulesLoad, modulesToLoadFrom, MODULES_LOAD_DIRS, MODULES_CONF_LINK } from './modules-load-d.js';
