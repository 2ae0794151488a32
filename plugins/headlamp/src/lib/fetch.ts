import { getHeadlampAPIHeaders } from '@kinvolk/headlamp-plugin/lib';
import { parseWarnings } from './form';
import { Status } from './types';

// A request to the current cluster through Headlamp's backend (its /clusters/<name>/ proxy,
// with the user's own credentials, as Headlamp's API client sends them). Unlike
// ApiProxy.request, it keeps what the pages need from a failure: the Status body with its
// causes, and the server's Warning headers.

function appUrl(): string {
  const w = window as any;
  if (w.desktopApi || w.process?.type === 'renderer')
    return `http://localhost:${w.headlampBackendPort ?? 4466}/`;
  const base =
    typeof w.headlampBaseUrl === 'string' && w.headlampBaseUrl !== '/' ? w.headlampBaseUrl : '';
  return `${window.location.origin}${base.replace(/\/$/, '')}/`;
}

export interface KubeResponse<T> {
  status: number;
  ok: boolean;
  body: T | null;
  error: Status | null;
  warnings: string[];
}

export async function kubeFetch<T>(
  cluster: string,
  path: string,
  init: RequestInit = {}
): Promise<KubeResponse<T>> {
  const url = `${appUrl()}clusters/${encodeURIComponent(cluster)}${path}`;
  const headers: Record<string, string> = {
    Accept: 'application/json',
    ...(getHeadlampAPIHeaders?.() ?? {}),
    ...((init.headers as Record<string, string>) ?? {}),
  };
  if (init.body && !headers['Content-Type']) headers['Content-Type'] = 'application/json';
  let resp: Response;
  try {
    resp = await fetch(url, { credentials: 'include', ...init, headers });
  } catch (e) {
    return {
      status: 0,
      ok: false,
      body: null,
      error: { kind: 'Status', message: `cannot reach Headlamp's backend: ${e}` },
      warnings: [],
    };
  }
  const text = await resp.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  const warnings = parseWarnings(resp.headers.get('Warning'));
  if (resp.ok) return { status: resp.status, ok: true, body: json as T, error: null, warnings };
  const error: Status =
    json && json.kind === 'Status'
      ? json
      : { kind: 'Status', code: resp.status, message: text || resp.statusText };
  return { status: resp.status, ok: false, body: null, error, warnings };
}
