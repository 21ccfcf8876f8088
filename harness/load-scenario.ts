import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MqfedError } from '../system/protocol/index.ts';
import { parseScenario, type Scenario } from './scenario.ts';

/**
 * Loads a scenario by name (`paper-1` → `<root>/scenarios/paper-1.ts`) or by file path. The file's
 * default export (or its `scenario` export) is validated again, so a file that built its object
 * by hand, without `defineScenario`, still gets errors that name the field. [design] The harness
 * finds scenarios by path at run time rather than importing scenarios/, so the dependency still
 * points one way (scenarios → harness).
 */
export async function loadScenario(nameOrFile: string, root = process.cwd()): Promise<Scenario> {
  const isPath = /[\\/]/.test(nameOrFile) || /\.[cm]?[jt]s$/.test(nameOrFile);
  const file = isPath ? resolve(nameOrFile) : resolve(root, 'scenarios', `${nameOrFile}.ts`);
  if (!existsSync(file)) {
    throw new MqfedError('INVALID_REQUEST', `no scenario file ${file}`);
  }
  const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const exported = module.default ?? module.scenario;
  if (exported === undefined) {
    throw new MqfedError('INVALID_REQUEST', `${file} has no default export (defineScenario(...))`);
  }
  return parseScenario(exported);
}
