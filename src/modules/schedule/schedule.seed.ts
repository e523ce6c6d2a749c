// Demo schedule: the weekly sittings the directory seed names, then every verified doctor sits every other day,
// bookable through the whole sitting, and today's queue of the demo doctor has a dozen bookings by patients who
// sign up and book as any patient would.
import type { FastifyInstance } from 'fastify';
import type { Principal } from '../../plugins/auth.js';
import * as repo from './schedule.repository.js';
import { isoWeekday, todayIn } from './schedule.time.js';

const DAY_START = '07:00';
const DAY_END = '23:00';
const SLOT_MINUTES = 10;
const DEMO_DOCTOR_EMAIL = 'dr.rahman@demo.carequeue.local';
const DEMO_PATIENTS = [
  'Karim Hossain',
  'Nusrat Jahan',
  'Tanvir Ahmed',
  'Farzana Akter',
  'Rafiq Islam',
  'Sadia Rahman',
  'Imran Chowdhury',
  'Moushumi Das',
  'Arif Hasan',
  'Shirin Sultana',
  'Jamal Uddin',
  'Laila Begum',
];

/** A demo doctor's weekly sitting, from the directory seed (which knows the doctors, not their sessions). */
export interface DemoSitting {
  doctorId: string;
  hospitalId: string;
  /** ISO weekday, 1 = Monday. */
  weekday: number;
  /** Whole hours, `HH:00`. */
  start: string;
  end: string;
  room: string;
}

export async function seedSchedule(
  app: FastifyInstance,
  options: { password: string; sittings: DemoSitting[] },
): Promise<void> {
  const db = app.db;
  for (const sitting of options.sittings) {
    const minutes = (Number(sitting.end.slice(0, 2)) - Number(sitting.start.slice(0, 2))) * 60;
    await repo.insertSession(db, {
      doctorId: sitting.doctorId,
      hospitalId: sitting.hospitalId,
      weekday: sitting.weekday,
      startTime: sitting.start,
      endTime: sitting.end,
      slotMinutes: SLOT_MINUTES,
      capacity: minutes / SLOT_MINUTES,
      fee: 800,
      room: sitting.room,
      validFrom: null,
      validTo: null,
      bookingOpensDays: 30,
      bookingClosesMinutes: 0,
    });
  }
  const firstHospital = await db
    .selectFrom('hospitals')
    .select('id')
    .where('deletedAt', 'is', null)
    .orderBy('createdAt')
    .orderBy('id')
    .executeTakeFirst();
  if (!firstHospital) return;
  const doctors = await db
    .selectFrom('doctors')
    .innerJoin('users', 'users.id', 'doctors.userId')
    .select(['doctors.id', 'users.email'])
    .where('doctors.verifiedAt', 'is not', null)
    .execute();
  for (const doctor of doctors) {
    const existing = await repo.listDoctorSessions(db, doctor.id);
    const hospitalId = existing[0]?.hospitalId ?? firstHospital.id;
    for (let weekday = 1; weekday <= 7; weekday++) {
      if (existing.some((s) => s.weekday === weekday)) continue;
      await repo.insertSession(db, {
        doctorId: doctor.id,
        hospitalId,
        weekday,
        startTime: DAY_START,
        endTime: DAY_END,
        slotMinutes: SLOT_MINUTES,
        capacity: 60,
        fee: 800,
        room: weekday % 2 === 0 ? '12A' : '7',
        validFrom: null,
        validTo: null,
        bookingOpensDays: 30,
        // The demo day is live: bookings are taken until the sitting ends.
        bookingClosesMinutes: -((23 - 7) * 60),
      });
    }
  }
  await bookToday(app, doctors.find((d) => d.email === DEMO_DOCTOR_EMAIL)?.id, options.password);
}

async function bookToday(app: FastifyInstance, doctorId: string | undefined, password: string) {
  if (!doctorId) return;
  const sessions = await repo.listDoctorSessions(app.db, doctorId);
  const now = app.clock.now();
  const session = sessions.find((s) => s.weekday === isoWeekday(todayIn(s.timezone, now)));
  if (!session) return;
  const date = todayIn(session.timezone, now);
  for (const [i, name] of DEMO_PATIENTS.entries()) {
    // The first is seedDemo's demo patient; the others sign up here, on a database that was empty.
    const { user } =
      i === 0
        ? await app.accounts.auth.login('patient@demo.carequeue.local', password)
        : await app.accounts.auth.register({
            email: `patient${i}@demo.carequeue.local`,
            password,
            name,
            phone: `+88017110000${String(i + 10).padStart(2, '0')}`,
            role: 'patient',
          });
    const principal: Principal = {
      id: user.id,
      role: 'patient',
      name,
      hospitalId: null,
      doctorId: null,
      profileId: user.profileId ?? null,
    };
    try {
      await app.appointments.booking.book(principal, { sessionId: session.id, date });
    } catch (err) {
      app.log.warn({ err }, 'demo booking skipped');
    }
  }
}
