import { Health } from './types';

// The health verdict at a given time, as the server's Table prints it in HEALTH
// (Health.VerdictAt in pkg/apis/ui/v1alpha1): the first in precedence among the clock-free
// verdict and the reasons that hold at now (a reason with `after` holds from that instant on),
// else Pending when a NeverSucceeded reason is still to come, else Healthy. PRECEDENCE is the
// API's order (precedence_test.go checks it against the Go types).
export const PRECEDENCE = [
  'Invalid',
  'Paused',
  'Failing',
  'Stuck',
  'NeverSucceeded',
  'Overdue',
  'VerificationFailing',
];

function rank(t: string): number {
  const i = PRECEDENCE.indexOf(t);
  return i >= 0 ? i : PRECEDENCE.length;
}

export function healthAt(h: Health | undefined, now: Date): string {
  if (!h) return '';
  let best = rank(h.verdict);
  let pending = false;
  for (const r of h.reasons ?? []) {
    if (r.after && now.getTime() < Date.parse(r.after)) {
      pending = pending || r.type === 'NeverSucceeded';
      continue;
    }
    best = Math.min(best, rank(r.type));
  }
  if (best < PRECEDENCE.length) return PRECEDENCE[best];
  return pending ? 'Pending' : 'Healthy';
}

/** Headlamp's StatusLabel status for a verdict: success, warning or error. */
export function healthStatus(verdict: string): 'success' | 'warning' | 'error' | '' {
  switch (verdict) {
    case 'Healthy':
      return 'success';
    case 'Paused':
    case 'Pending':
    case 'Overdue':
    case 'VerificationFailing':
      return 'warning';
    case 'Invalid':
    case 'Failing':
    case 'Stuck':
    case 'NeverSucceeded':
      return 'error';
  }
  return '';
}

/** One line per reason: "Type: Kind ns/name field: message" (each names its object and field). */
export function reasonLines(h: Health | undefined, now: Date) {
  return (h?.reasons ?? []).map(r => {
    const obj = `${r.object.kind} ${r.object.namespace ? r.object.namespace + '/' : ''}${
      r.object.name
    }`;
    const holds = !r.after || now.getTime() >= Date.parse(r.after);
    return { type: r.type, object: obj, field: r.field, message: r.message, after: r.after, holds };
  });
}

/** A time as people read it on the detail page: the instant and how far from now ("7m ago", "in 3h"). */
export function relTime(t: string | undefined, now: Date): string {
  if (!t) return '-';
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) return t;
  const d = ms - now.getTime();
  const a = Math.abs(d) / 1000;
  const span =
    a < 60
      ? `${Math.round(a)}s`
      : a < 3600
      ? `${Math.round(a / 60)}m`
      : a < 172800
      ? `${Math.round(a / 3600)}h`
      : `${Math.round(a / 86400)}d`;
  const iso = new Date(ms).toISOString().replace('T', ' ').replace('.000Z', 'Z');
  return `${iso} (${d >= 0 ? 'in ' + span : span + ' ago'})`;
}
