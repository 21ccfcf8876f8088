import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
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
  resolveMqfedFromAnywhere();
  const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const exported = module.default ?? module.scenario;
  if (exported === undefined) {
    throw new MqfedError('INVALID_REQUEST', `${file} has no default export (defineScenario(...))`);
  }
  return parseScenario(exported);
}

let resolving = false;

/**
 * Lets a scenario file kept anywhere on disk `import { defineScenario } from 'mqfed/harness'`.
 * [design] Node resolves a bare specifier from the importing file's folder: through a
 * node_modules folder above it, or, inside this checkout, by the package's self-reference to its
 * own `exports`. A file in a folder of its own has neither, and its import would fail before the
 * harness ever saw it. So when normal resolution of `mqfed` or `mqfed/...` fails, it is tried
 * again as if imported from this file, inside the checkout, where Node applies the `exports` map
 * itself: the scenario gets the very harness that loads it, one copy of every module, and an
 * unexported path still fails with Node's own error. Only failures are answered, so a folder
 * with mqfed installed keeps the copy it installed. The hook is synchronous and in-thread
 * (module.registerHooks), so it needs no loader thread and applies from the next import on;
 * registered once per process.
 */
function resolveMqfedFromAnywhere(): void {
  if (resolving) return;
  resolving = true;
  const insideCheckout = import.meta.url;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      try {
        return nextResolve(specifier, context);
      } catch (error) {
        if (specifier !== 'mqfed' && !specifier.startsWith('mqfed/')) throw error;
        return nextResolve(specifier, { ...context, parentURL: insideCheckout });
      }
    },
  });
}
