// Queue operations for the doctor console and the front desk: one place that sends If-Match and explains errors.
import { ApiError, api } from './api.js';
import { toast } from './dom.js';
import { errorText } from './errors.js';
import type { WatchedQueue } from './live.js';

export type EntryAction = 'check-in' | 'call' | 'complete' | 'skip' | 'no-show' | 'recall';

const DONE: Record<string, string> = {
  'call-next': 'Called the next patient',
  'check-in': 'Checked in',
  call: 'Called',
  complete: 'Marked complete',
  skip: 'Skipped',
  'no-show': 'Marked no-show',
  recall: 'Back in line after the current patient',
  pause: 'Queue paused',
  resume: 'Queue resumed',
  'walk-ins': 'Walk-in added',
};

/** Runs one operation; on a stale version the queue resyncs and the person is told to look again. */
export async function queueOp<T = unknown>(
  queue: WatchedQueue,
  path: string,
  body: unknown = {},
): Promise<T | null> {
  const version = queue.snapshot?.version;
  const action = path.split('/').pop() ?? path;
  try {
    const result = await api.post<T>(`/queues/${queue.queueId}/${path}`, body, { ifMatch: version });
    toast(DONE[action] ?? 'Done');
    return result;
  } catch (err) {
    if (err instanceof ApiError && err.code === 'VERSION_CONFLICT') {
      toast('The queue changed a moment ago — showing the latest; try again.', 'error');
      await queue.resync();
    } else {
      toast(errorText(err), 'error');
    }
    return null;
  }
}

export const entryOp = (
  queue: WatchedQueue,
  appointmentId: string,
  action: EntryAction,
  body: unknown = {},
) => queueOp(queue, `entries/${appointmentId}/${action}`, body);
