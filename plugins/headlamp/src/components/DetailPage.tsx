import {
  Link,
  Loader,
  NameValueTable,
  SectionBox,
  SimpleTable,
} from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { Box, Button, ButtonGroup } from '@mui/material';
import yaml from 'js-yaml';
import React from 'react';
import { useParams } from 'react-router-dom';
import { accessProblem } from '../lib/access';
import { builtinRoute } from '../lib/columns';
import { healthAt, reasonLines, relTime } from '../lib/health';
import { BackupConfigurationViewClass, ROUTES } from '../lib/resource';
import { BackupConfigurationView } from '../lib/types';
import { HealthLabel, Pairs, Problem, useNow } from './common';

let clock = new Date();
const when = (t?: string) => relTime(t, clock);

function TargetLink({ v }: { v: BackupConfigurationView }) {
  const t = v.target;
  const text = `${t.kind ?? ''} ${t.namespace ?? ''}/${t.name ?? ''}`;
  const route = builtinRoute(t.apiGroup, t.kind);
  if (t.found && route) {
    return (
      <Link routeName={route} params={{ namespace: t.namespace, name: t.name }}>
        {text}
      </Link>
    );
  }
  return <span>{text}</span>;
}

export function DetailView({ v }: { v: BackupConfigurationView }) {
  const now = useNow();
  clock = now;
  const verdict = healthAt(v.health, now);
  const [fmt, setFmt] = React.useState<'yaml' | 'json'>('yaml');
  const md = v.metadata;
  return (
    <>
      <SectionBox title="Basic" backLink>
        <NameValueTable
          rows={[
            { name: 'Name', value: md.name },
            { name: 'Namespace', value: md.namespace },
            { name: 'Labels', value: <Pairs map={md.labels} /> },
            { name: 'Annotations', value: <Pairs map={md.annotations} /> },
            { name: 'UID', value: v.basic.uid ?? md.uid },
            { name: 'Phase', value: v.basic.phase || '-' },
            { name: 'Paused', value: String(!!v.basic.paused) },
            {
              name: 'Sessions',
              value:
                (v.sessions ?? []).map(s => `${s.name} (${s.schedule ?? ''})`).join(', ') || '-',
            },
          ]}
        />
      </SectionBox>
      <SectionBox title="Health">
        <NameValueTable
          rows={[
            {
              name: 'Health',
              value: <HealthLabel verdict={verdict} />,
            },
            { name: 'Last successful backup', value: when(v.health.lastSuccessfulBackupTime) },
            { name: 'Last session phase', value: v.health.lastSessionPhase || '-' },
            { name: 'Next schedule', value: when(v.health.nextScheduleTime) },
            { name: 'Overdue after', value: when(v.health.overdueAfter) },
          ]}
        />
        <SimpleTable
          columns={[
            { label: 'Type', getter: (r: any) => r.type },
            { label: 'Object', getter: (r: any) => r.object },
            { label: 'Field', getter: (r: any) => <code>{r.field}</code> },
            { label: 'Message', getter: (r: any) => r.message },
            {
              label: 'From',
              getter: (r: any) =>
                r.after ? `${r.holds ? 'since' : 'from'} ${when(r.after)}` : '-',
            },
          ]}
          data={reasonLines(v.health, now)}
          emptyMessage="Nothing wrong: no reasons."
        />
      </SectionBox>
      <SectionBox title="Backup Sessions">
        <SimpleTable
          columns={[
            { label: 'Name', getter: (s: any) => s.name },
            { label: 'Namespace', getter: (s: any) => s.namespace },
            { label: 'Invoker Kind', getter: (s: any) => s.invokerKind ?? '' },
            { label: 'Invoker Name', getter: (s: any) => s.invokerName ?? '' },
            { label: 'Session', getter: (s: any) => s.session ?? '' },
            { label: 'Total snapshots', getter: (s: any) => s.totalSnapshots ?? '' },
            { label: 'Phase', getter: (s: any) => s.phase ?? '' },
            { label: 'Duration', getter: (s: any) => s.duration ?? '' },
            { label: 'Age', getter: (s: any) => when(s.creationTimestamp) },
          ]}
          data={v.backupSessions ?? []}
          emptyMessage="No data available"
        />
      </SectionBox>
      <SectionBox title="Retention Policies">
        <SimpleTable
          columns={[
            { label: 'Name', getter: (p: any) => `${p.namespace}/${p.name}` },
            { label: 'Annotations', getter: (p: any) => <Pairs map={p.annotations} /> },
            { label: 'Age', getter: (p: any) => when(p.creationTimestamp) },
            {
              label: 'Max Retention Period',
              getter: (p: any) =>
                p.restricted || (p.found ? p.maxRetentionPeriod ?? '' : 'not found'),
            },
            { label: 'Default', getter: (p: any) => (p.found ? String(!!p.default) : '') },
          ]}
          data={v.retentionPolicies ?? []}
          emptyMessage="No data available"
        />
      </SectionBox>
      <SectionBox title="Target">
        {v.target.found ? (
          <NameValueTable
            rows={[
              { name: 'Target', value: <TargetLink v={v} /> },
              { name: 'Api Group', value: v.target.apiGroup || 'core' },
              { name: 'Age', value: when(v.target.creationTimestamp) },
            ]}
          />
        ) : (
          <Box data-testid="bv-target-missing" sx={{ p: 1 }}>
            No data available
            {v.target.restricted
              ? ` (${v.target.restricted})`
              : v.target.kind
              ? ` (${v.target.kind} ${v.target.namespace}/${v.target.name} not found)`
              : ''}
          </Box>
        )}
      </SectionBox>
      <SectionBox title="Repository">
        <SimpleTable
          columns={[
            { label: 'Name', getter: (r: any) => r.name },
            { label: 'Namespace', getter: (r: any) => r.namespace },
            { label: 'Size', getter: (r: any) => (r.found ? r.size ?? '' : 'not found') },
            { label: 'Snapshot Count', getter: (r: any) => r.snapshotCount ?? '' },
            { label: 'Target', getter: (r: any) => r.target ?? '' },
            {
              label: 'Last-Successful-Backup',
              getter: (r: any) => when(r.lastSuccessfulBackupTime),
            },
            {
              label: 'Integrity',
              getter: (r: any) =>
                r.integrity === undefined || r.integrity === null
                  ? ''
                  : String(r.integrity).toUpperCase(),
            },
            { label: 'Age', getter: (r: any) => when(r.creationTimestamp) },
          ]}
          data={v.repositories ?? []}
          emptyMessage="No data available"
        />
      </SectionBox>
      <SectionBox title="Snapshots">
        <SimpleTable
          columns={[
            { label: 'Repository', getter: (s: any) => s.repository },
            { label: 'Name', getter: (s: any) => s.name },
            { label: 'Snapshot-Time', getter: (s: any) => when(s.snapshotTime) },
            { label: 'Phase', getter: (s: any) => s.phase ?? '' },
            { label: 'Size', getter: (s: any) => s.size ?? '' },
            {
              label: 'Integrity',
              getter: (s: any) =>
                s.integrity === undefined || s.integrity === null
                  ? ''
                  : String(s.integrity).toUpperCase(),
            },
            { label: 'Verification', getter: (s: any) => s.verificationStatus ?? '' },
            { label: 'BackupSession', getter: (s: any) => s.backupSession ?? '' },
          ]}
          data={(v.repositories ?? []).flatMap((r: any) =>
            (r.snapshots ?? []).map((s: any) => ({ ...s, repository: r.name }))
          )}
          emptyMessage="No data available"
        />
      </SectionBox>
      {(v.repositories ?? []).some((r: any) => r.verification) && (
        <SectionBox title="Verification">
          <SimpleTable
            columns={[
              { label: 'Repository', getter: (r: any) => r.name },
              {
                label: 'Verifier',
                getter: (r: any) =>
                  `${r.verification.verifier.namespace}/${r.verification.verifier.name}` +
                  (r.verification.restricted
                    ? ` (${r.verification.restricted})`
                    : r.verification.found
                    ? ''
                    : ' (not found)'),
              },
              { label: 'Type', getter: (r: any) => r.verification.type ?? '' },
              { label: 'Schedule', getter: (r: any) => r.verification.schedule ?? '' },
              {
                label: 'Last Verification',
                getter: (r: any) => r.verification.lastSession?.name ?? '',
              },
              { label: 'Phase', getter: (r: any) => r.verification.lastSession?.phase ?? '' },
              {
                label: 'Message',
                getter: (r: any) => r.verification.lastSession?.message ?? '',
              },
              {
                label: 'Last Success',
                getter: (r: any) => when(r.verification.lastSuccessfulVerificationTime),
              },
              {
                label: 'Last Verified Snapshot',
                getter: (r: any) => r.verification.lastVerifiedSnapshot?.name ?? '',
              },
            ]}
            data={(v.repositories ?? []).filter((r: any) => r.verification)}
            emptyMessage="No data available"
          />
        </SectionBox>
      )}
      <SectionBox title="BackupStorage">
        <SimpleTable
          columns={[
            { label: 'Name', getter: (s: any) => s.name },
            { label: 'Namespace', getter: (s: any) => s.namespace },
            {
              label: 'Provider',
              getter: (s: any) => s.restricted || (s.found ? s.provider ?? '' : 'not found'),
            },
            { label: 'Size', getter: (s: any) => s.size ?? '' },
            {
              label: 'No. of Connected Repositories',
              getter: (s: any) => (s.found ? s.connectedRepositories : ''),
            },
            { label: 'Status', getter: (s: any) => s.phase ?? '' },
            { label: 'Age', getter: (s: any) => when(s.creationTimestamp) },
          ]}
          data={v.backupStorages ?? []}
          emptyMessage="No data available"
        />
      </SectionBox>
      <SectionBox title="CronJobs">
        <SimpleTable
          columns={[
            {
              label: 'Name',
              getter: (c: any) => (
                <Link routeName="CronJob" params={{ namespace: c.namespace, name: c.name }}>
                  {c.name}
                </Link>
              ),
            },
            { label: 'Namespace', getter: (c: any) => c.namespace },
            { label: 'Annotations', getter: (c: any) => <Pairs map={c.annotations} /> },
            { label: 'Schedule', getter: (c: any) => c.schedule ?? '' },
            { label: 'Suspend', getter: (c: any) => String(!!c.suspend) },
            { label: 'Active', getter: (c: any) => c.active ?? 0 },
            { label: 'Last Schedule', getter: (c: any) => when(c.lastScheduleTime) },
            { label: 'Age', getter: (c: any) => when(c.creationTimestamp) },
          ]}
          data={v.cronJobs ?? []}
          emptyMessage="No data available"
        />
      </SectionBox>
      <SectionBox
        title="Manifest of the view"
        headerProps={{
          actions: [
            <ButtonGroup key="fmt" size="small">
              <Button
                variant={fmt === 'yaml' ? 'contained' : 'outlined'}
                onClick={() => setFmt('yaml')}
              >
                YAML
              </Button>
              <Button
                variant={fmt === 'json' ? 'contained' : 'outlined'}
                onClick={() => setFmt('json')}
              >
                JSON
              </Button>
            </ButtonGroup>,
          ],
        }}
      >
        <Box
          component="pre"
          data-testid="bv-view-manifest"
          sx={{
            maxHeight: 400,
            overflow: 'auto',
            fontSize: '0.8em',
            p: 1,
            bgcolor: 'action.hover',
          }}
        >
          {fmt === 'yaml'
            ? yaml.dump(v, { noRefs: true, lineWidth: 120 })
            : JSON.stringify(v, null, 2)}
        </Box>
      </SectionBox>
    </>
  );
}

export function DetailPage() {
  const { namespace, name } = useParams<{ namespace: string; name: string }>();
  const [item, error] = BackupConfigurationViewClass.useGet(name, namespace);
  if (error) {
    const problem = accessProblem(
      (error as any).status,
      'get',
      'backupconfigurationviews',
      namespace
    );
    if ((error as any).status === 404 && item === null) {
      // 404 on one object: the view is gone (or the API is absent); say both.
      return (
        <SectionBox title={name} backLink>
          <Problem
            problem={{
              title: 'Not found',
              message: `No BackupConfiguration view ${namespace}/${name}: it was deleted, or backupview is not installed.`,
            }}
          />
        </SectionBox>
      );
    }
    if (problem) return <Problem problem={problem} />;
    return <Problem problem={{ title: 'Error', message: String((error as any).message) }} />;
  }
  if (!item) return <Loader title="Loading the BackupConfiguration view" />;
  return <DetailView v={(item as any).jsonData} />;
}

export { ROUTES };
