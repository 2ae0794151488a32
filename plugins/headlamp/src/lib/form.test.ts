import yaml from 'js-yaml';
import fs from 'node:fs';
import path from 'node:path';
import {
  applyURL,
  emptyForm,
  emptySession,
  emptyTask,
  FormState,
  mapStatusToFields,
  panelOf,
  parametersOf,
  paramsTemplate,
  parseWarnings,
  tasksOf,
  toDropdowns,
  toPreviewRequest,
} from './form';
import options from './testdata/options-demo.json';
import status422 from './testdata/status-422.json';
import { BackupConfigurationOptions, Status } from './types';

// The repository's own example request (examples/preview-mongodb.yaml): the form, filled as
// a person would, must post exactly that.
const example = yaml.load(
  fs.readFileSync(path.resolve(__dirname, '../../../../examples/preview-mongodb.yaml'), 'utf8')
) as any;

function mongodbForm(): FormState {
  const f = emptyForm('demo');
  f.name = 'mongodb-backup';
  f.storageRef = 'kubestash/s3-shared';
  f.retentionPolicy = 'demo/demo-retention';
  f.labels = [{ key: 'team', value: 'databases' }];
  const s = example.spec.sessions[0];
  const t = s.tasks[0];
  f.sessions = [
    {
      name: s.name,
      schedule: s.schedule,
      runAsUser: String(s.runAsUser),
      addon: s.addon,
      tasks: [
        {
          name: t.name,
          repoName: t.repoName,
          encryptionSecretNamespace: t.encryptionSecret?.namespace ?? '',
          encryptionSecretName: t.encryptionSecret?.name ?? '',
          paramsText: t.params ? yaml.dump(t.params) : t.paramsText ?? '',
        },
      ],
    },
  ];
  f.target = { ...example.spec.target };
  return f;
}

describe('form state to preview request', () => {
  it('posts what examples/preview-mongodb.yaml holds', () => {
    const req = toPreviewRequest(mongodbForm());
    expect(req.apiVersion).toBe(example.apiVersion);
    expect(req.kind).toBe(example.kind);
    expect(req.metadata).toEqual({
      name: example.metadata.name,
      namespace: example.metadata.namespace,
    });
    expect(req.spec.storageRef).toEqual(example.spec.storageRef);
    expect(req.spec.retentionPolicy).toEqual(example.spec.retentionPolicy);
    expect(req.spec.labels).toEqual(example.spec.labels);
    expect(req.spec.target).toEqual(example.spec.target);
    // The form's Params editor holds text: the example's params object, as YAML.
    const want = {
      ...example.spec.sessions[0],
      tasks: example.spec.sessions[0].tasks.map(({ params, ...t }: any) => ({
        ...t,
        paramsText: yaml.dump(params),
      })),
    };
    expect(req.spec.sessions[0]).toEqual(want);
  });

  it('keeps runAsUser 0, leaves out empty optional fields, sends both-or-neither secrets as typed', () => {
    const f = emptyForm('demo');
    f.sessions[0] = {
      ...emptySession(),
      name: 'a',
      schedule: '@daily',
      runAsUser: '0',
      addon: 'mongodb-addon',
    };
    f.sessions[0].tasks = [{ ...emptyTask(), name: 'logical-backup', encryptionSecretName: 'enc' }];
    const s = toPreviewRequest(f).spec.sessions[0];
    expect(s.runAsUser).toBe(0);
    expect(s.tasks[0]).toEqual({ name: 'logical-backup', encryptionSecret: { name: 'enc' } });
    expect(toPreviewRequest(f).spec.labels).toBeUndefined();
    f.sessions[0].runAsUser = '';
    expect('runAsUser' in toPreviewRequest(f).spec.sessions[0]).toBe(false);
  });

  it('applies the rendered manifest at its own URL', () => {
    expect(
      applyURL({
        apiVersion: 'core.kubestash.com/v1alpha1',
        kind: 'BackupConfiguration',
        metadata: { namespace: 'demo', name: 'x' },
      })
    ).toBe(
      '/apis/core.kubestash.com/v1alpha1/namespaces/demo/backupconfigurations/x?fieldManager=backupview-headlamp&fieldValidation=Strict'
    );
  });
});

describe('422 to fields', () => {
  // status-422.json: backupview's answer to examples/preview-invalid.yaml.
  const f = emptyForm('demo');
  f.sessions = [
    { ...emptySession(), tasks: [emptyTask()] },
    { ...emptySession(), tasks: [emptyTask(), emptyTask()] },
  ];
  const errs = mapStatusToFields(status422 as Status, f);

  it('puts each cause at the input it names', () => {
    expect(errs.byField['spec.sessions[0].schedule'][0]).toMatch(/every 5 minutes/);
    expect(errs.byField['spec.sessions[0].tasks[0].name'][0]).toMatch(/Required value/);
    expect(errs.byField['spec.sessions[1].name'][0]).toMatch(/Duplicate value: "daily"/);
    expect(errs.byField['spec.sessions[1].tasks[0].encryptionSecret.namespace'][0]).toMatch(/both/);
    expect(errs.byField['spec.sessions[1].tasks[1].paramsText'][0]).toMatch(/not both/);
    expect(errs.byField['spec.sessions[1].tasks[0].repoName'][0]).toMatch(/Duplicate/);
    const placed = Object.values(errs.byField).flat().length;
    expect(placed).toBe((status422 as Status).details!.causes!.length);
  });

  it('marks the panels with errors, and only those', () => {
    expect(errs.panels).toEqual(['sessions']);
  });

  it('lands a deeper cause on its nearest input and a form-wide one on its panel', () => {
    const g = mapStatusToFields(
      {
        kind: 'Status',
        details: {
          causes: [
            { field: 'spec.storageRef.name', message: 'Required value' },
            { field: 'spec.sessions', message: 'Required value: at least one session' },
            { field: 'spec.target.kind', message: 'Required value' },
            { field: 'spec.labels', message: 'Invalid value: "a b"' },
          ],
        },
      },
      emptyForm('demo')
    );
    expect(g.byField['spec.storageRef']).toEqual(['spec.storageRef.name: Required value']);
    expect(g.byPanel.sessions).toEqual(['spec.sessions: Required value: at least one session']);
    expect(g.byField['spec.target.kind']).toEqual(['Required value']);
    expect(g.byField['spec.labels']).toEqual(['Invalid value: "a b"']);
    expect(g.panels.sort()).toEqual(['basic', 'labels', 'sessions', 'target']);
    expect(panelOf('metadata.name')).toBe('basic');
  });

  it('reads the server warnings', () => {
    expect(
      parseWarnings('299 - "BackupConfiguration demo/x already exists", 299 - "a \\"quoted\\" one"')
    ).toEqual(['BackupConfiguration demo/x already exists', 'a "quoted" one']);
    expect(parseWarnings(null)).toEqual([]);
  });
});

describe('options to dropdowns', () => {
  // options-demo.json: backupconfigurationoptions/default in namespace demo of the demo.
  const o = options as unknown as BackupConfigurationOptions;
  const d = toDropdowns(o);
  it('offers the storages and policies of the namespace with their defaults', () => {
    expect(d.storages.map(c => c.value)).toEqual(o.storages!.map(s => s.ref));
    expect(d.defaultStorage).toBe(o.storages!.find(s => s.default)!.ref);
    expect(d.retentionPolicies.map(c => c.value)).toEqual(o.retentionPolicies!.map(s => s.ref));
    expect(d.defaultRetentionPolicy).toBe('demo/demo-retention');
    expect(d.storages[0].label).toContain('default');
  });
  it('offers the addons, their backup tasks and parameters, and the targets', () => {
    expect(d.addons.map(a => a.value)).toEqual(o.addons!.map(a => a.name));
    expect(tasksOf(o, 'mongodb-addon').map(t => t.value)).toContain('logical-backup');
    expect(tasksOf(o, 'no-such-addon')).toEqual([]);
    expect(parametersOf(o, 'mongodb-addon', 'logical-backup').map(p => p.name)).toEqual([
      'args',
      'enableCache',
      'scratchDir',
    ]);
    expect(d.targets.map(t => `${t.kind} ${t.name}`)).toEqual(
      o.targets!.map(t => `${t.kind} ${t.name}`)
    );
  });
  it('starts the Params editor with the required parameters and their defaults', () => {
    expect(paramsTemplate([{ name: 'a', required: true, default: 'x' }, { name: 'b' }])).toBe(
      'a: "x"'
    );
  });
});
