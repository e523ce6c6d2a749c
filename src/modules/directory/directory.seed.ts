// Demo directory: hospitals in Dhaka, Chattogram and Berlin, catalogs, and verified doctors with generated
// avatars, bios, qualifications and weekly sessions, so search and filters have something to find.
import type { FastifyInstance } from 'fastify';
import type { DemoSitting } from '../schedule/schedule.seed.js';
import { initialsAvatar, photoUrl } from './photo.storage.js';

const HOSPITALS = [
  {
    name: 'Dhanmondi General Hospital',
    city: 'Dhaka',
    address: 'Road 27, Dhanmondi',
    timezone: 'Asia/Dhaka',
  },
  { name: 'Gulshan Heart Centre', city: 'Dhaka', address: 'Gulshan Avenue 52', timezone: 'Asia/Dhaka' },
  {
    name: 'Chattogram Medical Centre',
    city: 'Chattogram',
    address: 'O.R. Nizam Road',
    timezone: 'Asia/Dhaka',
  },
  { name: 'Agrabad Family Clinic', city: 'Chattogram', address: 'Agrabad C/A', timezone: 'Asia/Dhaka' },
  { name: 'Kreuzberg Praxisklinik', city: 'Berlin', address: 'Oranienstraße 12', timezone: 'Europe/Berlin' },
] as const;

const SPECIALIZATIONS = [
  'Cardiology',
  'Pediatrics',
  'Gynecology',
  'Dermatology',
  'Orthopedics',
  'Medicine',
  'ENT',
  'Neurology',
];
const QUALIFICATIONS = ['MBBS', 'FCPS', 'MD', 'MS', 'FRCS', 'MRCP', 'DCH'];
const SERVICES = [
  { name: 'Consultation', kind: 'consultation', durationMinutes: 10, fee: 800 },
  { name: 'Follow-up', kind: 'consultation', durationMinutes: 5, fee: 500 },
  { name: 'Health check-up', kind: 'check_up', durationMinutes: 30, fee: 2500 },
  { name: 'ECG', kind: 'lab_test', durationMinutes: 15, fee: 600 },
  { name: 'Ultrasound', kind: 'lab_test', durationMinutes: 20, fee: 1500 },
] as const;

interface DemoDoctor {
  email?: string;
  name: string;
  licenseNo: string;
  bio: string;
  experienceYears: number;
  specializations: string[];
  qualifications: [string, string, number][];
  services: string[];
  /** [hospital index, ISO weekday, start, end] */
  sessions: [number, number, string, string][];
}

const DOCTORS: DemoDoctor[] = [
  {
    email: 'dr.rahman@demo.carequeue.local',
    name: 'Dr. Ayesha Rahman',
    licenseNo: 'BMDC-A-10234',
    bio: 'Consultant cardiologist with a focus on hypertension and heart failure clinics.',
    experienceYears: 14,
    specializations: ['Cardiology', 'Medicine'],
    qualifications: [
      ['MBBS', 'Dhaka Medical College', 2006],
      ['FCPS', 'Bangladesh College of Physicians and Surgeons', 2013],
    ],
    services: ['Consultation', 'Follow-up', 'ECG'],
    sessions: [],
  },
  {
    name: 'Dr. Tanvir Chowdhury',
    licenseNo: 'BMDC-A-20811',
    bio: 'Interventional cardiologist; runs the evening chest-pain clinic.',
    experienceYears: 18,
    specializations: ['Cardiology'],
    qualifications: [
      ['MBBS', 'Chittagong Medical College', 2002],
      ['MD', 'BSMMU', 2009],
    ],
    services: ['Consultation', 'ECG', 'Health check-up'],
    sessions: [
      [1, 2, '17:00', '20:00'],
      [2, 6, '10:00', '13:00'],
    ],
  },
  {
    name: 'Dr. Rahima Begum',
    licenseNo: 'BMDC-A-31457',
    bio: 'Paediatrician caring for newborns to teenagers, with a special interest in asthma.',
    experienceYears: 11,
    specializations: ['Pediatrics'],
    qualifications: [
      ['MBBS', 'Sir Salimullah Medical College', 2009],
      ['DCH', 'BSMMU', 2012],
      ['FCPS', 'Bangladesh College of Physicians and Surgeons', 2016],
    ],
    services: ['Consultation', 'Follow-up'],
    sessions: [
      [0, 1, '16:00', '19:00'],
      [0, 3, '16:00', '19:00'],
    ],
  },
  {
    name: 'Dr. Farhana Islam',
    licenseNo: 'BMDC-A-28890',
    bio: 'Obstetrician and gynaecologist; antenatal care and high-risk pregnancy.',
    experienceYears: 15,
    specializations: ['Gynecology'],
    qualifications: [
      ['MBBS', 'Rajshahi Medical College', 2005],
      ['FCPS', 'Bangladesh College of Physicians and Surgeons', 2012],
    ],
    services: ['Consultation', 'Ultrasound'],
    sessions: [
      [2, 4, '15:00', '18:00'],
      [3, 7, '10:00', '13:00'],
    ],
  },
  {
    name: 'Dr. Mahbub Alam',
    licenseNo: 'BMDC-A-19976',
    bio: 'Orthopaedic surgeon: sports injuries, joint replacement and back pain.',
    experienceYears: 20,
    specializations: ['Orthopedics'],
    qualifications: [
      ['MBBS', 'Dhaka Medical College', 2000],
      ['MS', 'NITOR', 2008],
      ['FRCS', 'Royal College of Surgeons of Edinburgh', 2011],
    ],
    services: ['Consultation', 'Follow-up'],
    sessions: [[0, 6, '18:00', '21:00']],
  },
  {
    name: 'Dr. Nusrat Jahan',
    licenseNo: 'BMDC-A-40213',
    bio: 'Dermatologist treating eczema, acne and skin allergies in adults and children.',
    experienceYears: 8,
    specializations: ['Dermatology'],
    qualifications: [
      ['MBBS', 'Chittagong Medical College', 2012],
      ['MD', 'BSMMU', 2018],
    ],
    services: ['Consultation'],
    sessions: [
      [2, 1, '17:00', '20:00'],
      [3, 5, '16:00', '19:00'],
    ],
  },
  {
    name: 'Dr. Shafiqul Haque',
    licenseNo: 'BMDC-A-15532',
    bio: 'Neurologist: headache, epilepsy and stroke follow-up clinics.',
    experienceYears: 22,
    specializations: ['Neurology', 'Medicine'],
    qualifications: [
      ['MBBS', 'Mymensingh Medical College', 1998],
      ['MRCP', 'Royal College of Physicians', 2006],
    ],
    services: ['Consultation', 'Follow-up', 'Health check-up'],
    sessions: [[1, 4, '18:00', '21:00']],
  },
  {
    name: 'Dr. Lena Hoffmann',
    licenseNo: 'DE-BE-774120',
    bio: 'General internist; consultations in German, English and Bangla.',
    experienceYears: 9,
    specializations: ['Medicine', 'ENT'],
    qualifications: [['MD', 'Charité – Universitätsmedizin Berlin', 2014]],
    services: ['Consultation', 'Health check-up'],
    sessions: [
      [4, 2, '09:00', '12:00'],
      [4, 4, '14:00', '17:00'],
    ],
  },
];

const emailOf = (d: DemoDoctor) =>
  d.email ??
  `${d.name
    .replace(/^Dr\.\s*/, '')
    .toLowerCase()
    .replace(/\s+/g, '.')}@demo.carequeue.local`;

/**
 * Adds the demo directory. Expects seedDemo's admin, first hospital and dr.rahman to exist already. Returns the
 * doctors' weekly sittings for the schedule seed to add: sessions are the schedule module's rows.
 */
export async function seedDirectory(
  app: FastifyInstance,
  options: { adminId: string; password: string },
): Promise<DemoSitting[]> {
  const db = app.db;
  const hospitalIds: string[] = [];
  for (const h of HOSPITALS) {
    const existing = await db
      .selectFrom('hospitals')
      .select('id')
      .where('name', '=', h.name)
      .executeTakeFirst();
    hospitalIds.push(
      existing?.id ??
        (await db.insertInto('hospitals').values(h).returning('id').executeTakeFirstOrThrow()).id,
    );
  }
  const ids = async (table: 'specializations' | 'qualifications', names: string[]) => {
    const rows = await db
      .insertInto(table)
      .values(names.map((name) => ({ name })))
      .returning(['id', 'name'])
      .execute();
    return new Map(rows.map((r) => [r.name, r.id]));
  };
  const specializations = await ids('specializations', SPECIALIZATIONS);
  const qualifications = await ids('qualifications', QUALIFICATIONS);
  const serviceRows = await db
    .insertInto('services')
    .values(
      SERVICES.map((s) => ({
        name: s.name,
        kind: s.kind,
        durationMinutes: s.durationMinutes,
        fee: String(s.fee),
      })),
    )
    .returning(['id', 'name'])
    .execute();
  const services = new Map(serviceRows.map((r) => [r.name, r.id]));

  const sittings: DemoSitting[] = [];
  for (const [index, d] of DOCTORS.entries()) {
    const email = emailOf(d);
    let user = await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
    if (!user) {
      user = await app.accounts.admin.createUser(
        { id: options.adminId },
        { email, password: options.password, name: d.name, role: 'doctor', licenseNo: d.licenseNo },
      );
    }
    const doctor = await db
      .selectFrom('doctors')
      .select('id')
      .where('userId', '=', user.id)
      .executeTakeFirstOrThrow();
    const avatar = await app.directory.photos.put(doctor.id, 'svg', initialsAvatar(d.name, index * 47 + 200));
    await db
      .updateTable('doctors')
      .set({
        bio: d.bio,
        experienceYears: d.experienceYears,
        photoUrl: photoUrl(avatar),
        verifiedAt: new Date(),
      })
      .where('id', '=', doctor.id)
      .execute();
    await db
      .insertInto('doctorSpecializations')
      .values(
        d.specializations.map((s) => ({
          doctorId: doctor.id,
          specializationId: specializations.get(s) as string,
        })),
      )
      .execute();
    await db
      .insertInto('doctorQualifications')
      .values(
        d.qualifications.map(([q, institute, year]) => ({
          doctorId: doctor.id,
          qualificationId: qualifications.get(q) as string,
          institute,
          year,
        })),
      )
      .execute();
    await db
      .insertInto('doctorServices')
      .values(d.services.map((s) => ({ doctorId: doctor.id, serviceId: services.get(s) as string })))
      .execute();
    for (const [hospital, weekday, start, end] of d.sessions) {
      sittings.push({
        doctorId: doctor.id,
        hospitalId: hospitalIds[hospital],
        weekday,
        start,
        end,
        room: `${100 + index}`,
      });
    }
  }
  return sittings;
}
