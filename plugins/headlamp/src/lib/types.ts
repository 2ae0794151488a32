// The shapes of backupview's API (ui.kubestash.com/v1alpha1), as the server serves them
// (pkg/apis/ui/v1alpha1/types.go and options_types.go). Only what the pages read.

export const GROUP = 'ui.kubestash.com';
export const VERSION = 'v1alpha1';
export const API = `/apis/${GROUP}/${VERSION}`;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  resourceVersion?: string;
}

export interface TypedObjectReference {
  apiGroup?: string;
  kind: string;
  namespace: string;
  name: string;
}

export interface Condition {
  type: string;
  status: string;
  severity?: string;
  reason?: string;
  message?: string;
}

export interface HealthReason {
  type: string;
  object: TypedObjectReference;
  field: string;
  message: string;
  after?: string;
}

export interface Health {
  verdict: string;
  reasons?: HealthReason[];
  lastSuccessfulBackupTime?: string;
  lastSessionPhase?: string;
  nextScheduleTime?: string;
  overdueAfter?: string;
}

export interface BackupConfigurationView {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  basic: { uid?: string; phase?: string; paused: boolean; conditions?: Condition[] };
  summary: {
    schedule?: string;
    repository?: string;
    backupStorage?: string;
    target?: string;
    task?: string;
    retentionPolicy?: string;
  };
  sessions?: { name: string; schedule?: string; nextSchedule?: string }[];
  backupSessions?: {
    name: string;
    namespace: string;
    invokerKind?: string;
    invokerName?: string;
    session?: string;
    totalSnapshots?: number;
    phase?: string;
    duration?: string;
    creationTimestamp?: string;
  }[];
  retentionPolicies?: {
    name: string;
    namespace: string;
    found: boolean;
    restricted?: string;
    annotations?: Record<string, string>;
    maxRetentionPeriod?: string;
    default?: boolean;
    creationTimestamp?: string;
  }[];
  target: {
    apiGroup?: string;
    kind?: string;
    namespace?: string;
    name?: string;
    found: boolean;
    restricted?: string;
    creationTimestamp?: string;
  };
  repositories?: {
    name: string;
    namespace: string;
    found: boolean;
    size?: string;
    snapshotCount?: number;
    target?: string;
    lastSuccessfulBackupTime?: string;
    integrity?: boolean;
    phase?: string;
    creationTimestamp?: string;
  }[];
  backupStorages?: {
    name: string;
    namespace: string;
    found: boolean;
    restricted?: string;
    provider?: string;
    size?: string;
    connectedRepositories: number;
    phase?: string;
    creationTimestamp?: string;
  }[];
  cronJobs?: {
    name: string;
    namespace: string;
    annotations?: Record<string, string>;
    session?: string;
    schedule?: string;
    suspend: boolean;
    active: number;
    lastScheduleTime?: string;
    creationTimestamp?: string;
  }[];
  health: Health;
}

export interface TaskParameter {
  name: string;
  usage?: string;
  required?: boolean;
  default?: string;
}

export interface BackupConfigurationOptions {
  metadata: ObjectMeta;
  storages?: {
    ref: string;
    namespace: string;
    name: string;
    provider?: string;
    phase?: string;
    default?: boolean;
    allowedNamespaces: string;
  }[];
  retentionPolicies?: {
    ref: string;
    namespace: string;
    name: string;
    maxRetentionPeriod?: string;
    default?: boolean;
    allowedNamespaces: string;
  }[];
  addons?: { name: string; backupTasks?: { name: string; parameters?: TaskParameter[] }[] }[];
  targets?: { apiGroup?: string; kind: string; name: string }[];
  encryptionSecrets?: string[];
}

export interface PreviewTask {
  name: string;
  repoName?: string;
  encryptionSecret?: { namespace?: string; name: string };
  paramsText?: string;
}

export interface PreviewSession {
  name: string;
  schedule: string;
  runAsUser?: number;
  addon: string;
  tasks: PreviewTask[];
}

export interface BackupConfigurationPreview {
  apiVersion: string;
  kind: 'BackupConfigurationPreview';
  metadata: { name: string; namespace: string };
  spec: {
    storageRef: { namespace?: string; name: string };
    retentionPolicy: { namespace?: string; name: string };
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    sessions: PreviewSession[];
    target: TypedObjectReference;
  };
  status?: { manifest?: any; yaml?: string; json?: string };
}

/** A Kubernetes Status, as a failed request answers (a 422 lists its causes). */
export interface Status {
  kind: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    kind?: string;
    causes?: { reason?: string; message?: string; field?: string }[];
  };
}
