// Who may see and run a queue: the viewer shape the service and the socket handlers share.

/** Who asks: a signed-in account, or a tracking-token holder following one appointment. */
export interface Viewer {
  id: string;
  role: 'patient' | 'doctor' | 'staff' | 'admin';
  hospitalId: string | null;
  doctorId: string | null;
}

/** Admins, staff of the queue's hospital and the queue's doctor run a queue and see its names. */
export function canManage(viewer: Viewer, queue: { hospitalId: string; doctorId: string }): boolean {
  if (viewer.role === 'admin') return true;
  if (viewer.role === 'staff') return viewer.hospitalId === queue.hospitalId;
  if (viewer.role === 'doctor') return viewer.doctorId === queue.doctorId;
  return false;
}

/** Staff of a hospital (and admins) may follow its notices. */
export function mayWatchHospital(viewer: Viewer | null, hospitalId: string): boolean {
  return (
    viewer !== null &&
    (viewer.role === 'admin' || (viewer.role === 'staff' && viewer.hospitalId === hospitalId))
  );
}
