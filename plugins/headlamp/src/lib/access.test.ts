import { accessProblem } from './access';

describe('when the API is absent or refuses', () => {
  it('says backupview is not installed on a 404', () => {
    expect(accessProblem(404, 'list', 'backupconfigurationviews')?.title).toBe(
      'backupview is not installed'
    );
  });
  it('names the role that grants the verb on a 403: view to read, edit to create', () => {
    const read = accessProblem(403, 'list', 'backupconfigurationviews')!;
    expect(read.title).toBe('Access denied');
    expect(read.message).toContain('You may not list backupconfigurationviews in all namespaces');
    expect(read.message).toContain(
      'RoleBinding to "view" in the namespace, then choose that namespace'
    );
    const create = accessProblem(403, 'create', 'backupconfigurationpreviews', 'demo')!;
    expect(create.message).toContain('in namespace demo');
    expect(create.message).toContain('RoleBinding to "edit" in the namespace.');
  });
  it('has nothing to add for other errors', () => {
    expect(accessProblem(500, 'list', 'x')).toBeNull();
  });
});
