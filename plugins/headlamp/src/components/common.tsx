import { StatusLabel } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { Alert, AlertTitle } from '@mui/material';
import React from 'react';
import { useSelector } from 'react-redux';
import { AccessProblem } from '../lib/access';
import { healthStatus } from '../lib/health';

export function Problem({ problem, testId }: { problem: AccessProblem; testId?: string }) {
  return (
    <Alert severity="error" data-testid={testId ?? 'bv-problem'} sx={{ my: 1 }}>
      <AlertTitle>{problem.title}</AlertTitle>
      {problem.message}
    </Alert>
  );
}

/** The current time, ticking: HEALTH is read at now, like the server's Table. */
export function useNow(everyMs = 15000): Date {
  const [now, setNow] = React.useState(() => new Date());
  React.useEffect(() => {
    const id = setInterval(() => setNow(new Date()), everyMs);
    return () => clearInterval(id);
  }, [everyMs]);
  return now;
}

/** The namespaces chosen in Headlamp's namespace filter (empty: all). */
export function useFilterNamespaces(): string[] {
  const set = useSelector((s: any) => s.filter?.namespaces) as Set<string> | string[] | undefined;
  return React.useMemo(() => Array.from(set ?? []).sort(), [set]);
}

export function Pairs({ map }: { map?: Record<string, string> }) {
  const entries = Object.entries(map ?? {});
  if (entries.length === 0) return <span>-</span>;
  return (
    <span>
      {entries.map(([k, v]) => (
        <div key={k} style={{ fontFamily: 'monospace', fontSize: '0.85em' }}>
          {k}={v}
        </div>
      ))}
    </span>
  );
}

/** HEALTH as a Headlamp StatusLabel: green Healthy, orange Paused/Pending/Overdue, red the rest. */
export function HealthLabel({ verdict }: { verdict: string }) {
  return (
    <span data-testid="bv-health" data-verdict={verdict}>
      <StatusLabel status={healthStatus(verdict)}>{verdict}</StatusLabel>
    </span>
  );
}
