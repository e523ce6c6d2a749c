// Every event the live queue sends to sockets goes out here, so room names and payload shapes live in one place.
import type { Server } from 'socket.io';
import type {
  AppointmentUpdate,
  ClientToServerEvents,
  DoctorNotice,
  InterServerEvents,
  QueueUpdate,
  ServerToClientEvents,
  SocketData,
} from './queue.schema.js';

export type RealtimeServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;

/**
 * A queue has two rooms: `queue:<id>` for everyone who sees serials only (guests, patients, tracking links,
 * lobby screens) and `queue:<id>:staff` for those who run it (they also get appointment ids). A socket is in
 * one of the two, so each change is one broadcast per room and nobody gets it twice.
 */
export const rooms = {
  queue: (queueId: string) => `queue:${queueId}`,
  queueStaff: (queueId: string) => `queue:${queueId}:staff`,
  appointment: (appointmentId: string) => `appointment:${appointmentId}`,
  hospital: (hospitalId: string) => `hospital:${hospitalId}`,
  /** Every socket of a signed-in account, so a change to the account reaches them on any instance. */
  user: (userId: string) => `user:${userId}`,
} as const;

/** What a guest may see of a change: everything but the appointment id (guest snapshots leave it out too). */
export function guestUpdate(update: QueueUpdate): QueueUpdate {
  if (update.appointmentId === undefined) return update;
  const { appointmentId: _, ...rest } = update;
  return rest;
}

export class QueueEmitter {
  constructor(private readonly io: RealtimeServer) {}

  /** The one broadcast per room a queue change produces, to everyone watching the queue on any instance. */
  queueUpdate(update: QueueUpdate): void {
    this.io.to(rooms.queueStaff(update.queueId)).emit('queue:update', update);
    this.io.to(rooms.queue(update.queueId)).emit('queue:update', guestUpdate(update));
  }

  appointmentUpdate(update: AppointmentUpdate): void {
    this.io.to(rooms.appointment(update.appointmentId)).emit('appointment:update', update);
  }

  /** A pause or resume: to the queue's watchers and the hospital's front desk. */
  doctorNotice(hospitalId: string, notice: DoctorNotice): void {
    this.io
      .to([rooms.queue(notice.queueId), rooms.queueStaff(notice.queueId), rooms.hospital(hospitalId)])
      .emit('doctor:notice', notice);
  }
}
