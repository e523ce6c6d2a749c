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

export const rooms = {
  queue: (queueId: string) => `queue:${queueId}`,
  appointment: (appointmentId: string) => `appointment:${appointmentId}`,
  hospital: (hospitalId: string) => `hospital:${hospitalId}`,
} as const;

export class QueueEmitter {
  constructor(private readonly io: RealtimeServer) {}

  /** The one broadcast a queue change produces, to everyone watching the queue on any instance. */
  queueUpdate(update: QueueUpdate): void {
    this.io.to(rooms.queue(update.queueId)).emit('queue:update', update);
  }

  appointmentUpdate(update: AppointmentUpdate): void {
    this.io.to(rooms.appointment(update.appointmentId)).emit('appointment:update', update);
  }

  /** A pause or resume: to the queue's watchers and the hospital's front desk. */
  doctorNotice(hospitalId: string, notice: DoctorNotice): void {
    this.io.to([rooms.queue(notice.queueId), rooms.hospital(hospitalId)]).emit('doctor:notice', notice);
  }
}
