import {
  registerDetailsViewSection,
  registerRoute,
  registerSidebarEntry,
} from '@kinvolk/headlamp-plugin/lib';
import React from 'react';
import { CreatePage } from './components/CreatePage';
import { DetailPage } from './components/DetailPage';
import { ListPage } from './components/ListPage';
import { BackupsOfTarget, TARGET_KINDS } from './components/TargetSection';
import { ROUTES } from './lib/resource';

// The KubeStash backup console on backupview's API (ui.kubestash.com/v1alpha1).

registerSidebarEntry({
  parent: null,
  name: 'backupview',
  label: 'Backups',
  url: '/backupview/backupconfigurations',
  icon: 'mdi:backup-restore',
});
registerSidebarEntry({
  parent: 'backupview',
  name: 'backupview-backupconfigurations',
  label: 'Backup Configuration',
  url: '/backupview/backupconfigurations',
});

registerRoute({
  path: '/backupview/backupconfigurations',
  sidebar: 'backupview-backupconfigurations',
  name: ROUTES.list,
  exact: true,
  component: () => <ListPage />,
});
registerRoute({
  path: '/backupview/create/backupconfiguration',
  sidebar: 'backupview-backupconfigurations',
  name: ROUTES.create,
  exact: true,
  component: () => <CreatePage />,
});
registerRoute({
  path: '/backupview/backupconfigurations/:namespace/:name',
  sidebar: 'backupview-backupconfigurations',
  name: ROUTES.detail,
  exact: true,
  component: () => <DetailPage />,
});

registerDetailsViewSection(({ resource }: { resource: any }) => {
  if (!resource || !TARGET_KINDS.includes(resource.kind)) return null;
  return <BackupsOfTarget resource={resource} />;
});
