import { Router } from '@kinvolk/headlamp-plugin/lib';
import { Link, ResourceListView } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { Button } from '@mui/material';
import React from 'react';
import { useHistory } from 'react-router-dom';
import { accessProblem } from '../lib/access';
import { LIST_COLUMNS } from '../lib/columns';
import { BackupConfigurationViewClass, ROUTES } from '../lib/resource';
import { BackupConfigurationView } from '../lib/types';
import { HealthLabel, Problem, useFilterNamespaces, useNow } from './common';

const view = (item: any): BackupConfigurationView => item.jsonData;

export function ListPage() {
  const namespaces = useFilterNamespaces();
  const now = useNow();
  const history = useHistory();
  const { items, errors } = BackupConfigurationViewClass.useList({
    namespace: namespaces.length ? namespaces : undefined,
  });
  const err = errors?.[0];
  const problem = err
    ? accessProblem(
        err.status,
        'list',
        'backupconfigurationviews',
        namespaces.join(', ') || undefined
      )
    : null;

  const columns: any[] = LIST_COLUMNS.map(c => {
    if (c.id === 'namespace' || c.id === 'age') return c.id;
    if (c.id === 'name')
      return {
        id: 'name',
        label: c.label,
        getValue: (it: any) => c.value(view(it), now),
        render: (it: any) => (
          <Link
            routeName={ROUTES.detail}
            params={{ namespace: it.metadata.namespace, name: it.metadata.name }}
          >
            {it.metadata.name}
          </Link>
        ),
      };
    if (c.id === 'health')
      return {
        id: 'health',
        label: c.label,
        getValue: (it: any) => c.value(view(it), now),
        render: (it: any) => {
          const v = c.value(view(it), now);
          return <HealthLabel verdict={v} />;
        },
      };
    return { id: c.id, label: c.label, getValue: (it: any) => c.value(view(it), now) };
  });

  return (
    <>
      {problem && <Problem problem={problem} />}
      <ResourceListView
        id="backupview-backupconfigurationviews"
        title="Backup Configurations"
        headerProps={{
          titleSideActions: [
            <Button
              key="create"
              variant="contained"
              size="small"
              onClick={() => history.push(Router.createRouteURL(ROUTES.create))}
            >
              Create New Instance
            </Button>,
          ],
        }}
        data={problem ? [] : items}
        errorMessage={problem ? problem.title : err ? String(err.message) : null}
        columns={columns}
        defaultSortingColumn={{ id: 'namespace', desc: false }}
      />
    </>
  );
}
