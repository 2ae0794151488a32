import {
  API,
  BackupConfigurationOptions,
  BackupConfigurationPreview,
  PreviewSession,
  PreviewTask,
  Status,
  TaskParameter,
} from './types';

// The create form (console-guide.txt §4) as plain state, what it sends to
// backupconfigurationpreviews, and how a 422's causes land back on its fields.

export interface KV {
  key: string;
  value: string;
}
export interface TaskState {
  name: string;
  encryptionSecretNamespace: string;
  encryptionSecretName: string;
  repoName: string;
  paramsText: string;
}
export interface SessionState {
  name: string;
  schedule: string;
  runAsUser: string;
  addon: string;
  tasks: TaskState[];
}
export interface FormState {
  namespace: string;
  name: string;
  storageRef: string; // "<namespace>/<name>", as the dropdown shows it
  retentionPolicy: string; // "<namespace>/<name>"
  labels: KV[];
  annotations: KV[];
  sessions: SessionState[];
  target: { apiGroup: string; kind: string; namespace: string; name: string };
}

export function emptyTask(): TaskState {
  return {
    name: '',
    encryptionSecretNamespace: '',
    encryptionSecretName: '',
    repoName: '',
    paramsText: '',
  };
}
export function emptySession(): SessionState {
  return { name: '', schedule: '', runAsUser: '', addon: '', tasks: [emptyTask()] };
}
export function emptyForm(namespace = ''): FormState {
  return {
    namespace,
    name: '',
    storageRef: '',
    retentionPolicy: '',
    labels: [],
    annotations: [],
    sessions: [emptySession()],
    target: { apiGroup: '', kind: '', namespace, name: '' },
  };
}

function splitRef(ref: string): { namespace?: string; name: string } {
  const i = ref.indexOf('/');
  if (i < 0) return { name: ref.trim() };
  return { namespace: ref.slice(0, i).trim(), name: ref.slice(i + 1).trim() };
}

function kvMap(rows: KV[]): Record<string, string> | undefined {
  const kept = rows.filter(r => r.key !== '' || r.value !== '');
  if (kept.length === 0) return undefined;
  return Object.fromEntries(kept.map(r => [r.key.trim(), r.value]));
}

function taskOf(t: TaskState): PreviewTask {
  const out: PreviewTask = { name: t.name };
  if (t.repoName.trim()) out.repoName = t.repoName.trim();
  if (t.encryptionSecretNamespace.trim() || t.encryptionSecretName.trim()) {
    // Both or neither: the server says which one is missing.
    out.encryptionSecret = { name: t.encryptionSecretName.trim() };
    if (t.encryptionSecretNamespace.trim())
      out.encryptionSecret.namespace = t.encryptionSecretNamespace.trim();
  }
  if (t.paramsText.trim()) out.paramsText = t.paramsText;
  return out;
}

function sessionOf(s: SessionState): PreviewSession {
  const out: PreviewSession = {
    name: s.name.trim(),
    schedule: s.schedule.trim(),
    addon: s.addon,
    tasks: s.tasks.map(taskOf),
  };
  if (s.runAsUser.trim() !== '') {
    const n = Number(s.runAsUser.trim());
    // A non-number is sent as is (NaN is not JSON): the server's 422 names the field.
    out.runAsUser = Number.isInteger(n) ? n : (s.runAsUser.trim() as unknown as number);
  }
  return out;
}

/** The BackupConfigurationPreview the form posts. Nothing is checked here: the server reports every mistake at once. */
export function toPreviewRequest(f: FormState): BackupConfigurationPreview {
  const spec: BackupConfigurationPreview['spec'] = {
    storageRef: splitRef(f.storageRef),
    retentionPolicy: splitRef(f.retentionPolicy),
    sessions: f.sessions.map(sessionOf),
    target: {
      apiGroup: f.target.apiGroup.trim(),
      kind: f.target.kind.trim(),
      namespace: f.target.namespace.trim(),
      name: f.target.name.trim(),
    },
  };
  const labels = kvMap(f.labels);
  if (labels) spec.labels = labels;
  const annotations = kvMap(f.annotations);
  if (annotations) spec.annotations = annotations;
  return {
    apiVersion: 'ui.kubestash.com/v1alpha1',
    kind: 'BackupConfigurationPreview',
    metadata: { name: f.name.trim(), namespace: f.namespace.trim() },
    spec,
  };
}

export function previewURL(namespace: string): string {
  return `${API}/namespaces/${encodeURIComponent(namespace)}/backupconfigurationpreviews`;
}

export function optionsURL(namespace: string): string {
  return `${API}/namespaces/${encodeURIComponent(namespace)}/backupconfigurationoptions/default`;
}

// ---- options -> dropdowns

export interface Choice {
  value: string;
  label: string;
}
export interface Dropdowns {
  storages: Choice[];
  defaultStorage: string;
  retentionPolicies: Choice[];
  defaultRetentionPolicy: string;
  addons: Choice[];
  targets: (Choice & { apiGroup: string; kind: string; name: string })[];
  encryptionSecrets: Choice[];
}

export function toDropdowns(o: BackupConfigurationOptions | null | undefined): Dropdowns {
  const storages = (o?.storages ?? []).map(s => ({
    value: s.ref,
    label: [s.ref, [s.provider, s.phase, s.default ? 'default' : ''].filter(Boolean).join(', ')]
      .filter(Boolean)
      .join(' — '),
  }));
  const policies = (o?.retentionPolicies ?? []).map(p => ({
    value: p.ref,
    label: [p.ref, [p.maxRetentionPeriod, p.default ? 'default' : ''].filter(Boolean).join(', ')]
      .filter(Boolean)
      .join(' — '),
  }));
  return {
    storages,
    defaultStorage: o?.storages?.find(s => s.default)?.ref ?? '',
    retentionPolicies: policies,
    defaultRetentionPolicy: o?.retentionPolicies?.find(p => p.default)?.ref ?? '',
    addons: (o?.addons ?? []).map(a => ({ value: a.name, label: a.name })),
    targets: (o?.targets ?? []).map(t => ({
      value: `${t.apiGroup ?? ''}/${t.kind}/${t.name}`,
      label: `${t.kind} ${t.name}${t.apiGroup ? ` (${t.apiGroup})` : ''}`,
      apiGroup: t.apiGroup ?? '',
      kind: t.kind,
      name: t.name,
    })),
    encryptionSecrets: (o?.encryptionSecrets ?? []).map(s => ({ value: s, label: s })),
  };
}

export function tasksOf(o: BackupConfigurationOptions | null | undefined, addon: string): Choice[] {
  const a = o?.addons?.find(x => x.name === addon);
  return (a?.backupTasks ?? []).map(t => ({ value: t.name, label: t.name }));
}

export function parametersOf(
  o: BackupConfigurationOptions | null | undefined,
  addon: string,
  task: string
): TaskParameter[] {
  return (
    o?.addons?.find(x => x.name === addon)?.backupTasks?.find(t => t.name === task)?.parameters ??
    []
  );
}

/** The Params editor's starting text for a task: its required parameters, with their defaults. */
export function paramsTemplate(params: TaskParameter[]): string {
  return params
    .filter(p => p.required)
    .map(p => `${p.name}: ${JSON.stringify(p.default ?? '')}`)
    .join('\n');
}

// ---- 422 -> fields

/** The form's inputs, by the field path the server names in a 422. */
export function formFieldPaths(f: FormState): string[] {
  const paths = [
    'metadata.namespace',
    'metadata.name',
    'spec.storageRef',
    'spec.retentionPolicy',
    'spec.labels',
    'spec.annotations',
    'spec.target.apiGroup',
    'spec.target.kind',
    'spec.target.namespace',
    'spec.target.name',
  ];
  f.sessions.forEach((s, i) => {
    const sp = `spec.sessions[${i}]`;
    paths.push(`${sp}.name`, `${sp}.schedule`, `${sp}.runAsUser`, `${sp}.addon`);
    s.tasks.forEach((_, j) => {
      const tp = `${sp}.tasks[${j}]`;
      paths.push(
        `${tp}.name`,
        `${tp}.encryptionSecret.namespace`,
        `${tp}.encryptionSecret.name`,
        `${tp}.repoName`,
        `${tp}.paramsText`
      );
    });
  });
  return paths;
}

function isPrefix(prefix: string, path: string): boolean {
  return path === prefix || path.startsWith(prefix + '.') || path.startsWith(prefix + '[');
}

export type Panel = 'basic' | 'labels' | 'sessions' | 'target';

export function panelOf(field: string): Panel {
  if (isPrefix('spec.labels', field) || isPrefix('spec.annotations', field)) return 'labels';
  if (isPrefix('spec.sessions', field)) return 'sessions';
  if (isPrefix('spec.target', field)) return 'target';
  return 'basic';
}

export interface FieldErrors {
  /** Messages at an input, by its field path. */
  byField: Record<string, string[]>;
  /** Messages that belong to no single input (e.g. "at least one session"), by panel. */
  byPanel: Record<Panel, string[]>;
  /** Panels with any error: they show "Error in fields". */
  panels: Panel[];
  /** The Status' message when no cause names a field. */
  general: string[];
}

/**
 * Where a 422's causes go: each to the input whose path is the longest prefix of the cause's
 * field (spec.storageRef.name lands on Storage Ref), else to its panel.
 */
export function mapStatusToFields(status: Status | null | undefined, f: FormState): FieldErrors {
  const out: FieldErrors = {
    byField: {},
    byPanel: { basic: [], labels: [], sessions: [], target: [] },
    panels: [],
    general: [],
  };
  const inputs = formFieldPaths(f);
  const causes = status?.details?.causes ?? [];
  for (const c of causes) {
    const msg = c.message ?? c.reason ?? 'invalid';
    if (!c.field) {
      out.general.push(msg);
      continue;
    }
    let best = '';
    for (const p of inputs) if (isPrefix(p, c.field) && p.length > best.length) best = p;
    const text = best === c.field ? msg : `${c.field}: ${msg}`;
    if (best) (out.byField[best] ??= []).push(text);
    else out.byPanel[panelOf(c.field)].push(`${c.field}: ${msg}`);
    const panel = panelOf(c.field);
    if (!out.panels.includes(panel)) out.panels.push(panel);
  }
  if (causes.length === 0 && status?.message) out.general.push(status.message);
  return out;
}

/** The Warning headers of a response ("299 - \"text\""), as text. */
export function parseWarnings(header: string | null | undefined): string[] {
  if (!header) return [];
  const out: string[] = [];
  const re = /\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(header)) !== null) out.push(m[1].replace(/\\(.)/g, '$1'));
  return out;
}

/**
 * Where Submit applies the rendered manifest: the object's own URL, for a server-side apply
 * (PATCH, application/apply-patch+yaml) that creates it or updates it under this field manager.
 */
export const FIELD_MANAGER = 'backupview-headlamp';

export function applyURL(manifest: any): string {
  const [group, version] = String(manifest?.apiVersion ?? '').split('/');
  const ns = manifest?.metadata?.namespace ?? '';
  const name = manifest?.metadata?.name ?? '';
  const plural = String(manifest?.kind ?? '').toLowerCase() + 's';
  const base = version ? `/apis/${group}/${version}` : `/api/${group}`;
  return `${base}/namespaces/${encodeURIComponent(ns)}/${plural}/${encodeURIComponent(
    name
  )}?fieldManager=${FIELD_MANAGER}&fieldValidation=Strict`;
}
