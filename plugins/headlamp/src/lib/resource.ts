import { makeCustomResourceClass } from '@kinvolk/headlamp-plugin/lib/Crd';
import { GROUP, VERSION } from './types';

// backupconfigurationviews as a Headlamp resource class: Headlamp's API client lists, gets
// and watches them (its websocket watch through the cluster proxy) like any other kind.
export const BackupConfigurationViewClass = makeCustomResourceClass({
  apiInfo: [{ group: GROUP, version: VERSION }],
  kind: 'BackupConfigurationView',
  pluralName: 'backupconfigurationviews',
  singularName: 'backupconfigurationview',
  isNamespaced: true,
});

export const ROUTES = {
  list: 'backupview-backupconfigurations',
  detail: 'backupview-backupconfiguration',
  create: 'backupview-backupconfiguration-create',
};
