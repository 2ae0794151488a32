import { Link, SectionBox, SimpleTable } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import React from 'react';
import { accessProblem } from '../lib/access';
import { viewsTargeting } from '../lib/columns';
import { healthAt } from '../lib/health';
import { BackupConfigurationViewClass, ROUTES } from '../lib/resource';
import { BackupConfigurationView } from '../lib/types';
import { HealthLabel, useNow } from './common';

// On the detail page of an object Headlamp shows (StatefulSet, Deployment, ...): the
// BackupConfigurations in its namespace whose target it is, with their HEALTH.
export const TARGET_KINDS = ['StatefulSet', 'Deployment', 'DaemonSet', 'PersistentVolumeClaim'];

export function BackupsOfTarget({ resource }: { resource: any }) {
  const now = useNow();
  const ns = resource?.metadata?.namespace;
  const { items, errors } = BackupConfigurationViewClass.useList({ namespace: ns });
  const [group] = String(resource?.jsonData?.apiVersion ?? '')
    .split('/')
    .reverse()
    .slice(1);
  const mine = viewsTargeting(
    (items ?? []).map((i: any) => i.jsonData as BackupConfigurationView),
    { apiGroup: group ?? '', kind: resource.kind, namespace: ns, name: resource.metadata.name }
  );
  const err = errors?.[0];
  const problem = err ? accessProblem(err.status, 'list', 'backupconfigurationviews', ns) : null;
  return (
    <SectionBox title="Backup Configurations" data-testid="bv-target-section">
      <SimpleTable
        columns={[
          {
            label: 'Name',
            getter: (v: BackupConfigurationView) => (
              <Link
                routeName={ROUTES.detail}
                params={{ namespace: v.metadata.namespace, name: v.metadata.name }}
              >
                {v.metadata.name}
              </Link>
            ),
          },
          { label: 'Schedule', getter: (v: BackupConfigurationView) => v.summary?.schedule ?? '' },
          {
            label: 'Repository',
            getter: (v: BackupConfigurationView) => v.summary?.repository ?? '',
          },
          { label: 'Phase', getter: (v: BackupConfigurationView) => v.basic?.phase ?? '' },
          {
            label: 'Health',
            getter: (v: BackupConfigurationView) => {
              const h = healthAt(v.health, now);
              return <HealthLabel verdict={h} />;
            },
          },
        ]}
        data={problem ? [] : mine}
        errorMessage={problem ? `${problem.title}: ${problem.message}` : null}
        emptyMessage="No BackupConfiguration backs this up."
      />
    </SectionBox>
  );
}
