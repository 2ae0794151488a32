import { K8s } from '@kinvolk/headlamp-plugin/lib';
import { Link, SectionBox } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { getCluster } from '@kinvolk/headlamp-plugin/lib/Utils';
import { Alert, Box, Button, ButtonGroup, Chip, MenuItem, TextField } from '@mui/material';
import yaml from 'js-yaml';
import React from 'react';
import { accessProblem } from '../lib/access';
import { kubeFetch } from '../lib/fetch';
import {
  applyURL,
  Choice,
  emptyForm,
  emptySession,
  emptyTask,
  FieldErrors,
  FormState,
  mapStatusToFields,
  optionsURL,
  Panel,
  parametersOf,
  paramsTemplate,
  previewURL,
  tasksOf,
  toDropdowns,
  toPreviewRequest,
} from '../lib/form';
import { ROUTES } from '../lib/resource';
import { BackupConfigurationOptions, BackupConfigurationPreview } from '../lib/types';
import { useFilterNamespaces } from './common';

const NO_ERRORS: FieldErrors = {
  byField: {},
  byPanel: { basic: [], labels: [], sessions: [], target: [] },
  panels: [],
  general: [],
};

type Setter = (f: (s: FormState) => void) => void;

function Field(props: {
  path: string;
  label: string;
  value: string;
  onChange: (v: string) => void;
  errors: FieldErrors;
  required?: boolean;
  choices?: Choice[];
  multiline?: boolean;
  placeholder?: string;
}) {
  const errs = props.errors.byField[props.path] ?? [];
  const select = props.choices !== undefined;
  return (
    <TextField
      id={props.path}
      inputProps={{ 'data-testid': props.path }}
      SelectProps={{ SelectDisplayProps: { 'data-testid': props.path } as any }}
      label={props.label}
      value={props.value}
      required={props.required}
      select={select}
      multiline={props.multiline}
      minRows={props.multiline ? 3 : undefined}
      placeholder={props.placeholder}
      onChange={e => props.onChange(e.target.value)}
      error={errs.length > 0}
      helperText={errs.length ? errs.join('; ') : undefined}
      size="small"
      fullWidth
      sx={{ my: 0.75 }}
      InputProps={props.multiline ? { sx: { fontFamily: 'monospace' } } : undefined}
    >
      {select &&
        [
          ...(props.value && !props.choices!.some(c => c.value === props.value)
            ? [{ value: props.value, label: props.value }]
            : []),
          ...props.choices!,
        ].map(c => (
          <MenuItem key={c.value} value={c.value}>
            {c.label}
          </MenuItem>
        ))}
    </TextField>
  );
}

/** The panel header's "Error in fields" marker, as the console shows it. */
function errorChip(panel: Panel, errors: FieldErrors) {
  return errors.panels.includes(panel)
    ? [
        <Chip
          key="err"
          size="small"
          color="error"
          label="Error in fields"
          data-testid={`bv-error-${panel}`}
        />,
      ]
    : [];
}

function PanelErrors({ panel, errors }: { panel: Panel; errors: FieldErrors }) {
  const list = errors.byPanel[panel];
  if (!list.length) return null;
  return (
    <Alert severity="error" sx={{ my: 1 }}>
      {list.map(m => (
        <div key={m}>{m}</div>
      ))}
    </Alert>
  );
}

function KVRows({
  title,
  rows,
  onChange,
}: {
  title: string;
  rows: FormState['labels'];
  onChange: (r: FormState['labels']) => void;
}) {
  return (
    <Box sx={{ mb: 1 }}>
      <b>{title}</b>
      {rows.map((r, i) => (
        <Box key={i} sx={{ display: 'flex', gap: 1, alignItems: 'center' }}>
          <TextField
            size="small"
            label="Key"
            value={r.key}
            onChange={e =>
              onChange(rows.map((x, j) => (j === i ? { ...x, key: e.target.value } : x)))
            }
          />
          <TextField
            size="small"
            label="Value"
            value={r.value}
            onChange={e =>
              onChange(rows.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))
            }
          />
          <Button
            size="small"
            color="error"
            onClick={() => onChange(rows.filter((_, j) => j !== i))}
          >
            Delete
          </Button>
        </Box>
      ))}
      <Button size="small" onClick={() => onChange([...rows, { key: '', value: '' }])}>
        + Add new
      </Button>
    </Box>
  );
}

function useNamespaceChoices(): string[] {
  const [list] = (K8s as any).ResourceClasses.Namespace.useList();
  return React.useMemo(() => (list ?? []).map((n: any) => n.metadata.name).sort(), [list]);
}

export function CreatePage() {
  const cluster = getCluster() ?? '';
  const filterNs = useFilterNamespaces();
  const nsChoices = useNamespaceChoices();
  const [form, setForm] = React.useState<FormState>(() => emptyForm(filterNs[0] ?? ''));
  const [options, setOptions] = React.useState<BackupConfigurationOptions | null>(null);
  const [optionsProblem, setOptionsProblem] = React.useState<string>('');
  const [errors, setErrors] = React.useState<FieldErrors>(NO_ERRORS);
  const [step, setStep] = React.useState<'form' | 'preview'>('form');
  const [busy, setBusy] = React.useState(false);
  const [warnings, setWarnings] = React.useState<string[]>([]);
  const [fmt, setFmt] = React.useState<'yaml' | 'json'>('yaml');
  const [text, setText] = React.useState('');
  const [textError, setTextError] = React.useState('');
  const [result, setResult] = React.useState<{
    ok: boolean;
    message: string;
    ns?: string;
    name?: string;
  } | null>(null);

  const set: Setter = f =>
    setForm(prev => {
      const next = structuredClone(prev);
      f(next);
      return next;
    });

  // The dropdowns of the chosen namespace, from backupconfigurationoptions/default there.
  React.useEffect(() => {
    if (!form.namespace) return;
    let live = true;
    kubeFetch<BackupConfigurationOptions>(cluster, optionsURL(form.namespace)).then(r => {
      if (!live) return;
      if (!r.ok) {
        setOptions(null);
        const p = accessProblem(r.status, 'get', 'backupconfigurationoptions', form.namespace);
        setOptionsProblem(p ? `${p.title}: ${p.message}` : r.error?.message ?? `HTTP ${r.status}`);
        return;
      }
      setOptionsProblem('');
      setOptions(r.body);
      const d = toDropdowns(r.body);
      set(s => {
        if (!s.storageRef || !d.storages.some(c => c.value === s.storageRef))
          s.storageRef = d.defaultStorage;
        if (!s.retentionPolicy || !d.retentionPolicies.some(c => c.value === s.retentionPolicy))
          s.retentionPolicy = d.defaultRetentionPolicy;
      });
    });
    return () => {
      live = false;
    };
  }, [cluster, form.namespace]);

  const dd = toDropdowns(options);

  async function preview() {
    setBusy(true);
    setWarnings([]);
    const body = toPreviewRequest(form);
    const r = await kubeFetch<BackupConfigurationPreview>(
      cluster,
      previewURL(form.namespace || 'default'),
      {
        method: 'POST',
        body: JSON.stringify(body),
      }
    );
    setBusy(false);
    setWarnings(r.warnings);
    if (!r.ok) {
      if (r.status === 422 || r.status === 400) {
        setErrors(mapStatusToFields(r.error, form));
      } else {
        const p = accessProblem(r.status, 'create', 'backupconfigurationpreviews', form.namespace);
        setErrors({
          ...NO_ERRORS,
          general: [p ? `${p.title}: ${p.message}` : r.error?.message ?? `HTTP ${r.status}`],
        });
      }
      return;
    }
    setErrors(NO_ERRORS);
    setFmt('yaml');
    setText(r.body?.status?.yaml ?? yaml.dump(r.body?.status?.manifest ?? {}));
    setTextError('');
    setResult(null);
    setStep('preview');
  }

  function parseText(): any {
    return yaml.load(text); // YAML is a superset of JSON: either format parses
  }

  function toggle(to: 'yaml' | 'json') {
    if (to === fmt) return;
    try {
      const obj = parseText();
      setText(to === 'json' ? JSON.stringify(obj, null, 2) : yaml.dump(obj, { lineWidth: 120 }));
      setFmt(to);
      setTextError('');
    } catch (e) {
      setTextError(`The manifest does not parse: ${e}`);
    }
  }

  async function submit() {
    let obj: any;
    try {
      obj = parseText();
    } catch (e) {
      setTextError(`The manifest does not parse: ${e}`);
      return;
    }
    setBusy(true);
    // Server-side apply with the user's own credentials: creates the BackupConfiguration, or
    // updates the one of that name (the preview warns when it exists).
    const r = await kubeFetch<any>(cluster, applyURL(obj), {
      method: 'PATCH',
      body: JSON.stringify(obj),
      headers: { 'Content-Type': 'application/apply-patch+yaml' },
    });
    setBusy(false);
    if (r.ok) {
      const what = r.status === 201 ? 'Created' : 'Applied (updated)';
      setResult({
        ok: true,
        message: `${what} BackupConfiguration ${r.body?.metadata?.namespace}/${r.body?.metadata?.name}.`,
        ns: r.body?.metadata?.namespace,
        name: r.body?.metadata?.name,
      });
    } else {
      const p =
        r.status === 403
          ? accessProblem(
              403,
              'create',
              'backupconfigurations.core.kubestash.com',
              obj?.metadata?.namespace
            )
          : null;
      setResult({
        ok: false,
        message: p ? `${p.title}: ${p.message}` : `${r.status}: ${r.error?.message ?? ''}`,
      });
    }
  }

  if (step === 'preview') {
    return (
      <SectionBox
        title="Preview"
        headerProps={{
          actions: [
            <ButtonGroup key="fmt" size="small">
              <Button
                data-testid="bv-fmt-yaml"
                variant={fmt === 'yaml' ? 'contained' : 'outlined'}
                onClick={() => toggle('yaml')}
              >
                YAML
              </Button>
              <Button
                data-testid="bv-fmt-json"
                variant={fmt === 'json' ? 'contained' : 'outlined'}
                onClick={() => toggle('json')}
              >
                JSON
              </Button>
            </ButtonGroup>,
            <Button key="copy" size="small" onClick={() => navigator.clipboard?.writeText(text)}>
              Copy
            </Button>,
          ],
        }}
      >
        {warnings.map(w => (
          <Alert key={w} severity="warning" data-testid="bv-warning" sx={{ my: 0.5 }}>
            {w}
          </Alert>
        ))}
        <TextField
          inputProps={{ 'data-testid': 'bv-manifest', spellCheck: false }}
          value={text}
          onChange={e => setText(e.target.value)}
          multiline
          fullWidth
          minRows={18}
          maxRows={40}
          InputProps={{ sx: { fontFamily: 'monospace', fontSize: '0.85em' } }}
        />
        {textError && <Alert severity="error">{textError}</Alert>}
        {result && (
          <Alert
            severity={result.ok ? 'success' : 'error'}
            data-testid="bv-submit-result"
            sx={{ my: 1 }}
          >
            {result.message}{' '}
            {result.ok && (
              <Link routeName={ROUTES.detail} params={{ namespace: result.ns, name: result.name }}>
                Open its view
              </Link>
            )}
          </Alert>
        )}
        <Box sx={{ display: 'flex', gap: 1, mt: 1 }}>
          <Button variant="outlined" onClick={() => setStep('form')}>
            Previous
          </Button>
          <Button variant="contained" disabled={busy || !!result?.ok} onClick={submit}>
            Submit
          </Button>
        </Box>
      </SectionBox>
    );
  }

  const e = errors;
  return (
    <>
      <SectionBox
        title="Create BackupConfiguration"
        headerProps={{ titleSideActions: errorChip('basic', e) }}
        backLink
      >
        {optionsProblem && <Alert severity="warning">{optionsProblem}</Alert>}
        {e.general.map(m => (
          <Alert key={m} severity="error" data-testid="bv-general-error">
            {m}
          </Alert>
        ))}
        <PanelErrors panel="basic" errors={e} />
        <Field
          path="metadata.namespace"
          label="Namespace"
          required
          value={form.namespace}
          choices={nsChoices.length ? nsChoices.map(n => ({ value: n, label: n })) : undefined}
          onChange={v =>
            set(s => {
              if (s.target.namespace === s.namespace) s.target.namespace = v;
              s.namespace = v;
            })
          }
          errors={e}
        />
        <Field
          path="metadata.name"
          label="Name"
          required
          value={form.name}
          onChange={v => set(s => void (s.name = v))}
          errors={e}
        />
        <Field
          path="spec.storageRef"
          label="Storage Ref"
          required
          value={form.storageRef}
          choices={dd.storages}
          onChange={v => set(s => void (s.storageRef = v))}
          errors={e}
        />
        <Field
          path="spec.retentionPolicy"
          label="Retention Policy"
          required
          value={form.retentionPolicy}
          choices={dd.retentionPolicies}
          onChange={v => set(s => void (s.retentionPolicy = v))}
          errors={e}
        />
      </SectionBox>
      <SectionBox
        title="Labels & Annotations"
        headerProps={{ titleSideActions: errorChip('labels', e) }}
      >
        <PanelErrors panel="labels" errors={e} />
        {[...(e.byField['spec.labels'] ?? []), ...(e.byField['spec.annotations'] ?? [])].map(m => (
          <Alert key={m} severity="error">
            {m}
          </Alert>
        ))}
        <KVRows title="Labels" rows={form.labels} onChange={r => set(s => void (s.labels = r))} />
        <KVRows
          title="Annotations"
          rows={form.annotations}
          onChange={r => set(s => void (s.annotations = r))}
        />
      </SectionBox>
      <SectionBox title="Sessions" headerProps={{ titleSideActions: errorChip('sessions', e) }}>
        <PanelErrors panel="sessions" errors={e} />
        {form.sessions.map((ss, i) => {
          const sp = `spec.sessions[${i}]`;
          return (
            <Box key={i} sx={{ border: 1, borderColor: 'divider', borderRadius: 1, p: 1, mb: 1 }}>
              <Field
                path={`${sp}.name`}
                label="Session Name"
                required
                value={ss.name}
                onChange={v => set(s => void (s.sessions[i].name = v))}
                errors={e}
              />
              <Field
                path={`${sp}.schedule`}
                label="Schedule"
                required
                placeholder="*/30 * * * *"
                value={ss.schedule}
                onChange={v => set(s => void (s.sessions[i].schedule = v))}
                errors={e}
              />
              <Field
                path={`${sp}.runAsUser`}
                label="Security Context (runAsUser)"
                value={ss.runAsUser}
                onChange={v => set(s => void (s.sessions[i].runAsUser = v))}
                errors={e}
              />
              <Field
                path={`${sp}.addon`}
                label="Addon Name"
                required
                value={ss.addon}
                choices={dd.addons}
                onChange={v =>
                  set(s => {
                    s.sessions[i].addon = v;
                    s.sessions[i].tasks.forEach(t => {
                      if (!tasksOf(options, v).some(c => c.value === t.name)) t.name = '';
                    });
                  })
                }
                errors={e}
              />
              <b>Tasks</b>
              {ss.tasks.map((t, j) => {
                const tp = `${sp}.tasks[${j}]`;
                const params = parametersOf(options, ss.addon, t.name);
                return (
                  <Box key={j} sx={{ ml: 2, pl: 1, borderLeft: 2, borderColor: 'divider', mb: 1 }}>
                    <Field
                      path={`${tp}.name`}
                      label="Task Name"
                      required
                      value={t.name}
                      choices={tasksOf(options, ss.addon)}
                      onChange={v =>
                        set(s => {
                          const task = s.sessions[i].tasks[j];
                          task.name = v;
                          if (!task.paramsText.trim())
                            task.paramsText = paramsTemplate(parametersOf(options, ss.addon, v));
                        })
                      }
                      errors={e}
                    />
                    <Field
                      path={`${tp}.encryptionSecret.namespace`}
                      label="Encryption Secret Namespace"
                      value={t.encryptionSecretNamespace}
                      onChange={v =>
                        set(s => void (s.sessions[i].tasks[j].encryptionSecretNamespace = v))
                      }
                      errors={e}
                    />
                    <Field
                      path={`${tp}.encryptionSecret.name`}
                      label="Encryption Secret Name"
                      value={t.encryptionSecretName}
                      choices={dd.encryptionSecrets.length ? dd.encryptionSecrets : undefined}
                      onChange={v =>
                        set(s => void (s.sessions[i].tasks[j].encryptionSecretName = v))
                      }
                      errors={e}
                    />
                    <Field
                      path={`${tp}.repoName`}
                      label="Repo Name"
                      value={t.repoName}
                      onChange={v => set(s => void (s.sessions[i].tasks[j].repoName = v))}
                      errors={e}
                    />
                    <Field
                      path={`${tp}.paramsText`}
                      label={`Params (YAML)${
                        params.length
                          ? ': ' + params.map(p => p.name + (p.required ? '*' : '')).join(', ')
                          : ''
                      }`}
                      multiline
                      value={t.paramsText}
                      onChange={v => set(s => void (s.sessions[i].tasks[j].paramsText = v))}
                      errors={e}
                    />
                    <Button
                      size="small"
                      color="error"
                      onClick={() => set(s => void s.sessions[i].tasks.splice(j, 1))}
                    >
                      Delete task
                    </Button>
                  </Box>
                );
              })}
              <Button
                size="small"
                onClick={() => set(s => void s.sessions[i].tasks.push(emptyTask()))}
              >
                Add new task
              </Button>
              <Button
                size="small"
                color="error"
                onClick={() => set(s => void s.sessions.splice(i, 1))}
              >
                Delete session
              </Button>
            </Box>
          );
        })}
        <Button size="small" onClick={() => set(s => void s.sessions.push(emptySession()))}>
          + Add new session
        </Button>
      </SectionBox>
      <SectionBox title="Target" headerProps={{ titleSideActions: errorChip('target', e) }}>
        <PanelErrors panel="target" errors={e} />
        <Field
          path="bv.targetChoice"
          label="Choose a target in the namespace"
          value={
            dd.targets.find(
              t =>
                t.apiGroup === form.target.apiGroup &&
                t.kind === form.target.kind &&
                t.name === form.target.name
            )?.value ?? ''
          }
          choices={dd.targets}
          onChange={v =>
            set(s => {
              const t = dd.targets.find(x => x.value === v);
              if (t)
                s.target = {
                  apiGroup: t.apiGroup,
                  kind: t.kind,
                  namespace: s.namespace,
                  name: t.name,
                };
            })
          }
          errors={e}
        />
        <Field
          path="spec.target.apiGroup"
          label="Api Group"
          required
          value={form.target.apiGroup}
          onChange={v => set(s => void (s.target.apiGroup = v))}
          errors={e}
        />
        <Field
          path="spec.target.kind"
          label="Kind"
          required
          value={form.target.kind}
          onChange={v => set(s => void (s.target.kind = v))}
          errors={e}
        />
        <Field
          path="spec.target.namespace"
          label="Namespace"
          required
          value={form.target.namespace}
          onChange={v => set(s => void (s.target.namespace = v))}
          errors={e}
        />
        <Field
          path="spec.target.name"
          label="Name"
          required
          value={form.target.name}
          onChange={v => set(s => void (s.target.name = v))}
          errors={e}
        />
      </SectionBox>
      <Box sx={{ display: 'flex', gap: 1, m: 2 }}>
        <Button variant="contained" disabled={busy} onClick={preview}>
          Preview
        </Button>
      </Box>
    </>
  );
}
