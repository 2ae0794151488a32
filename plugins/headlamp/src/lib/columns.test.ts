import { builtinRoute, LIST_COLUMNS, viewsTargeting } from './columns';
import views from './testdata/views.json';
import { BackupConfigurationView } from './types';

// views.json: `kubectl get bcv -A -o json` from backupview serving hack/demo/samples.yaml.
const items = views.items as unknown as BackupConfigurationView[];
const byName = (n: string) => items.find(v => v.metadata.name === n)!;
const row = (v: BackupConfigurationView, now = new Date('2026-12-07T19:20:00Z')) =>
  Object.fromEntries(LIST_COLUMNS.map(c => [c.label, c.value(v, now)]));

describe('list columns', () => {
  it('are the console guide columns, in its order, with Health before Age', () => {
    expect(LIST_COLUMNS.map(c => c.label)).toEqual([
      'Name',
      'Namespace',
      'Schedule',
      'Paused',
      'Repository',
      'BackupStorage',
      'Target',
      'Task',
      'RetentionPolicy',
      'Phase',
      'Health',
      'Age',
    ]);
  });

  it('read every session and backend of the view summary', () => {
    const r = row(byName('postgres-backup'));
    expect(r).toMatchObject({
      Name: 'postgres-backup',
      Namespace: 'prod',
      Schedule: '0 */6 * * *, 30 1 * * *',
      Paused: 'false',
      Repository: 'postgres-s3-repo, postgres-gcs-repo',
      BackupStorage: 'kubestash/s3-shared, prod/gcs-prod',
      Target: 'Postgres prod/postgres',
      Task: 'logical-backup, manifest-backup',
      RetentionPolicy: 'kubestash/keep-1mo, prod/prod-retention',
      Phase: 'Ready',
    });
  });

  it('print paused and the clock-free verdicts as the server does', () => {
    expect(row(byName('app-data-backup'))).toMatchObject({ Paused: 'true', Health: 'Paused' });
    expect(row(byName('orders-db-backup'))).toMatchObject({ Phase: 'Invalid', Health: 'Invalid' });
    expect(row(byName('events-db-backup'))).toMatchObject({ Health: 'Failing' });
  });
});

describe('the target section', () => {
  it('finds the BackupConfigurations whose target an object is', () => {
    const got = viewsTargeting(items, {
      apiGroup: 'apps',
      kind: 'StatefulSet',
      namespace: 'demo',
      name: 'app-data',
    });
    expect(got.map(v => v.metadata.name)).toEqual(['app-data-backup']);
    expect(
      viewsTargeting(items, {
        apiGroup: 'apps',
        kind: 'Deployment',
        namespace: 'demo',
        name: 'app-data',
      })
    ).toEqual([]);
    expect(
      viewsTargeting(items, {
        apiGroup: 'apps',
        kind: 'StatefulSet',
        namespace: 'prod',
        name: 'app-data',
      })
    ).toEqual([]);
  });

  it('links targets and CronJobs to the Headlamp routes of their kinds', () => {
    expect(builtinRoute('apps', 'StatefulSet')).toBe('StatefulSet');
    expect(builtinRoute('batch', 'CronJob')).toBe('CronJob');
    expect(builtinRoute('', 'PersistentVolumeClaim')).toBe('persistentVolumeClaim');
    expect(builtinRoute('kubedb.com', 'MongoDB')).toBeUndefined();
  });
});
