import { healthAt, healthStatus, reasonLines, relTime } from './health';
import { Health } from './types';

const obj = { kind: 'BackupConfiguration', namespace: 'demo', name: 'x' };
const reason = (type: string, after?: string) => ({
  type,
  object: obj,
  field: 'status.phase',
  message: 'm',
  after,
});

describe('health at a time (the HEALTH column, as pkg/health.At)', () => {
  const now = new Date('2026-12-07T12:00:00Z');
  it('is the clock-free verdict when no reason holds', () => {
    expect(healthAt({ verdict: 'Healthy' }, now)).toBe('Healthy');
    expect(healthAt({ verdict: 'Paused', reasons: [reason('Paused')] }, now)).toBe('Paused');
  });
  it('takes a clock-dependent reason from its instant on', () => {
    const h: Health = { verdict: 'Healthy', reasons: [reason('Overdue', '2026-12-07T11:00:00Z')] };
    expect(healthAt(h, now)).toBe('Overdue');
    expect(healthAt(h, new Date('2026-12-07T10:59:59Z'))).toBe('Healthy');
  });
  it('is Pending while a NeverSucceeded reason is still to come, NeverSucceeded after', () => {
    const h: Health = {
      verdict: 'Healthy',
      reasons: [reason('NeverSucceeded', '2026-12-07T13:00:00Z')],
    };
    expect(healthAt(h, now)).toBe('Pending');
    expect(healthAt(h, new Date('2026-12-07T13:00:00Z'))).toBe('NeverSucceeded');
  });
  it('ranks VerificationFailing after Overdue and before Healthy', () => {
    const h: Health = {
      verdict: 'Healthy',
      reasons: [reason('VerificationFailing'), reason('Overdue', '2026-12-07T13:00:00Z')],
    };
    expect(healthAt(h, new Date('2026-12-07T12:00:00Z'))).toBe('VerificationFailing');
    expect(healthAt(h, new Date('2026-12-07T13:00:00Z'))).toBe('Overdue');
  });
  it('keeps the precedence Invalid, Paused, Failing, Stuck, NeverSucceeded, Overdue', () => {
    const h: Health = {
      verdict: 'Failing',
      reasons: [
        reason('Overdue', '2026-01-01T00:00:00Z'),
        reason('Stuck', '2026-01-01T00:00:00Z'),
        reason('Failing'),
      ],
    };
    expect(healthAt(h, now)).toBe('Failing');
    expect(
      healthAt(
        {
          verdict: 'Healthy',
          reasons: [
            reason('Overdue', '2026-01-01T00:00:00Z'),
            reason('Stuck', '2026-01-01T00:00:00Z'),
          ],
        },
        now
      )
    ).toBe('Stuck');
  });
  it('never lets Skipped change the verdict', () => {
    expect(healthAt({ verdict: 'Healthy', reasons: [reason('Skipped')] }, now)).toBe('Healthy');
  });
  it('renders as a status: green, orange or red', () => {
    expect(healthStatus('Healthy')).toBe('success');
    expect(['Paused', 'Pending', 'Overdue'].map(healthStatus)).toEqual([
      'warning',
      'warning',
      'warning',
    ]);
    expect(['Invalid', 'Failing', 'Stuck', 'NeverSucceeded'].map(healthStatus)).toEqual([
      'error',
      'error',
      'error',
      'error',
    ]);
  });
  it('names each reason object and field', () => {
    const [l] = reasonLines(
      {
        verdict: 'Invalid',
        reasons: [{ ...reason('Invalid'), field: 'spec.backends[0].storageRef' }],
      },
      now
    );
    expect(l).toMatchObject({
      type: 'Invalid',
      object: 'BackupConfiguration demo/x',
      field: 'spec.backends[0].storageRef',
      holds: true,
    });
  });
  it('prints times with their distance from now', () => {
    expect(relTime('2026-12-07T11:53:00Z', now)).toBe('2026-12-07 11:53:00Z (7m ago)');
    expect(relTime('2026-12-07T15:00:00Z', now)).toBe('2026-12-07 15:00:00Z (in 3h)');
    expect(relTime(undefined, now)).toBe('-');
  });
});
