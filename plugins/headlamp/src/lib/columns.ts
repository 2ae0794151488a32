import { healthAt } from './health';
import { BackupConfigurationView } from './types';

// The list page's columns: the console's (console-guide.txt §2) plus HEALTH, in the console's
// order. Name, Namespace and Age are Headlamp's own columns; the rest read the view's summary,
// which holds every session and backend (the console shows only the first).
export interface ListColumn {
  id: string;
  label: string;
  value: (v: BackupConfigurationView, now: Date) => string;
}

export const LIST_COLUMNS: ListColumn[] = [
  { id: 'name', label: 'Name', value: v => v.metadata.name },
  { id: 'namespace', label: 'Namespace', value: v => v.metadata.namespace ?? '' },
  { id: 'schedule', label: 'Schedule', value: v => v.summary?.schedule ?? '' },
  { id: 'paused', label: 'Paused', value: v => String(!!v.basic?.paused) },
  { id: 'repository', label: 'Repository', value: v => v.summary?.repository ?? '' },
  { id: 'backupStorage', label: 'BackupStorage', value: v => v.summary?.backupStorage ?? '' },
  { id: 'target', label: 'Target', value: v => v.summary?.target ?? '' },
  { id: 'task', label: 'Task', value: v => v.summary?.task ?? '' },
  { id: 'retentionPolicy', label: 'RetentionPolicy', value: v => v.summary?.retentionPolicy ?? '' },
  { id: 'phase', label: 'Phase', value: v => v.basic?.phase ?? '' },
  { id: 'health', label: 'Health', value: (v, now) => healthAt(v.health, now) },
  { id: 'age', label: 'Age', value: v => v.metadata.creationTimestamp ?? '' },
];

/** The views that back up a given object (the details-view section on StatefulSets etc.). */
export function viewsTargeting(
  views: BackupConfigurationView[],
  obj: { apiGroup: string; kind: string; namespace: string; name: string }
): BackupConfigurationView[] {
  const g = (s?: string) => (s === 'core' ? '' : s ?? '');
  return views.filter(
    v =>
      v.target &&
      g(v.target.apiGroup) === g(obj.apiGroup) &&
      v.target.kind === obj.kind &&
      (v.target.namespace || v.metadata.namespace) === obj.namespace &&
      v.target.name === obj.name
  );
}

/** Headlamp route names of the built-in kinds a target or a link can point to. */
const BUILTIN_ROUTES: Record<string, string> = {
  'apps/StatefulSet': 'StatefulSet',
  'apps/Deployment': 'Deployment',
  'apps/DaemonSet': 'DaemonSet',
  '/PersistentVolumeClaim': 'persistentVolumeClaim',
  '/Pod': 'Pod',
  'batch/CronJob': 'CronJob',
  'batch/Job': 'Job',
};

export function builtinRoute(
  apiGroup: string | undefined,
  kind: string | undefined
): string | undefined {
  return BUILTIN_ROUTES[`${apiGroup === 'core' ? '' : apiGroup ?? ''}/${kind ?? ''}`];
}
