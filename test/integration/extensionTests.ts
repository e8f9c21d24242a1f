/**
 * What the extension promises the editor, checked inside a real extension host: it activates, every
 * command that package.json declares is registered, every setting has its declared default, and its
 * view opens. The `vscode` module is handed in (this file must load outside the editor too).
 */
import assert from 'assert';
import type * as vscodeApi from 'vscode';
import type { TestCase } from './runner';

export const EXTENSION_ID = 'lstm-lab.lstm-lab';

interface Manifest {
  contributes: {
    commands: { command: string; title: string }[];
    configuration: { properties: Record<string, { default?: unknown }> };
    views?: Record<string, { id: string }[]>;
  };
}

export function extensionTests(vscode: typeof vscodeApi): TestCase[] {
  const extension = () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is not installed in this editor`);
    return ext;
  };
  const manifest = () => extension().packageJSON as Manifest;

  return [
    {
      name: `${EXTENSION_ID} is installed`,
      fn: () => extension(),
    },
    {
      name: 'it activates',
      fn: async () => {
        const ext = extension();
        await ext.activate();
        assert.equal(ext.isActive, true);
      },
    },
    {
      name: 'every command declared in package.json is registered',
      fn: async () => {
        const registered = new Set(await vscode.commands.getCommands(true));
        const declared = manifest().contributes.commands.map((c) => c.command);
        assert.ok(declared.length > 0, 'package.json declares no commands');
        const missing = declared.filter((c) => !registered.has(c));
        assert.deepEqual(missing, [], `declared in package.json but not registered: ${missing.join(', ')}`);
      },
    },
    {
      name: 'every setting has its declared default',
      fn: () => {
        const properties = manifest().contributes.configuration.properties;
        const keys = Object.keys(properties);
        assert.ok(keys.length > 0, 'package.json declares no settings');
        const config = vscode.workspace.getConfiguration();
        for (const key of keys) {
          const inspected = config.inspect(key);
          assert.ok(inspected, `setting ${key} is unknown to the editor`);
          assert.deepEqual(inspected.defaultValue, properties[key].default, `default of ${key}`);
          // The fixture workspace sets nothing, so the effective value is the default.
          assert.deepEqual(config.get(key), properties[key].default, `value of ${key} in a workspace that sets nothing`);
        }
      },
    },
    {
      name: 'its views open',
      fn: async () => {
        const views = Object.values(manifest().contributes.views ?? {}).flat();
        for (const view of views) await vscode.commands.executeCommand(`${view.id}.focus`);
      },
    },
  ];
}
