// Demo schedule: every verified doctor sits every day (where the directory seed gave them no sitting that
// weekday), bookable through the whole sitting, and today's queue of the demo doctor has a dozen bookings.
import type { FastifyInstance } from 'fastify';
import { hashPassword } from '../../lib/password.js';
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

export async function seedSchedule(app: FastifyInstance, options: { password: string }): Promise<void> {
  const db = app.db;
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
  const passwordHash = await hashPassword(password);
  for (const [i, name] of DEMO_PATIENTS.entries()) {
    const email = i === 0 ? 'patient@demo.carequeue.local' : `patient${i}@demo.carequeue.local`;
    let user = await app.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
    if (!user) {
      user = await app.db
        .insertInto('users')
        .values({
          email,
          passwordHash,
          role: 'patient',
          name,
          phone: `+88017110000${String(i + 10).padStart(2, '0')}`,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await app.db.insertInto('patientProfiles').values({ accountId: user.id, isSelf: true, name }).execute();
    }
    const profile = await app.db
      .selectFrom('patientProfiles')
      .select('id')
      .where('accountId', '=', user.id)
      .where('isSelf', '=', true)
      .executeTakeFirstOrThrow();
    const principal: Principal = {
      id: user.id,
      role: 'patient',
      name,
      hospitalId: null,
      doctorId: null,
      profileId: profile.id,
    };
    try {
      await app.appointments.booking.book(principal, { sessionId: session.id, date });
    } catch (err) {
      app.log.warn({ err }, 'demo booking skipped');
    }
  }
}
