// What to tell people when backupview's API is absent or refuses them: never a blank page.

export interface AccessProblem {
  title: string;
  message: string;
}

export function accessProblem(
  status: number | undefined,
  verb: string,
  resource: string,
  namespace?: string
): AccessProblem | null {
  const where = namespace ? `in namespace ${namespace}` : 'in all namespaces';
  switch (status) {
    case 404:
      return {
        title: 'backupview is not installed',
        message:
          'This cluster does not serve the API ui.kubestash.com/v1alpha1. Install backupview ' +
          '(its APIService v1alpha1.ui.kubestash.com must be Available) to see KubeStash ' +
          'BackupConfigurations here.',
      };
    case 401:
    case 403: {
      const role = verb === 'create' ? 'edit' : 'view';
      return {
        title: 'Access denied',
        message:
          `You may not ${verb} ${resource} ${where}. backupview's permissions are aggregated into ` +
          `the built-in ClusterRoles "view" (read the views and options) and "edit" (also preview ` +
          `and create): ask for a RoleBinding to "${role}" in the namespace` +
          (namespace ? '' : ', then choose that namespace in the namespace filter') +
          '.',
      };
    }
    case 503:
      return {
        title: 'backupview is unavailable',
        message:
          'The API ui.kubestash.com/v1alpha1 is registered but backupview does not answer (503).',
      };
  }
  return null;
}
