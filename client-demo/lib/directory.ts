// Directory shapes the booking pages read (GET /v1/doctors, /v1/doctors/:id, availability).
export interface DoctorListItem {
  id: string;
  name: string;
  photoUrl: string | null;
  experienceYears: number | null;
  rating: number | null;
  ratingCount: number;
  visitCount: number;
  specializations: string[];
  cities: string[];
  soonestDate?: string | null;
}

export interface DoctorProfile {
  id: string;
  name: string;
  licenseNo: string | null;
  bio: string;
  experienceYears: number | null;
  photoUrl: string | null;
  verified: boolean;
  rating: number | null;
  ratingCount: number;
  visitCount: number;
  specializations: { id: string; name: string }[];
  qualifications: { qualificationId: string; name: string; institute: string; year: number | null }[];
  services: { id: string; name: string; fee: number }[];
  hospitals: { id: string; name: string; city: string; timezone: string }[];
}

export interface Opening {
  sessionId: string;
  doctorId: string;
  queueId: string | null;
  date: string;
  start: string;
  end: string;
  capacity: number;
  booked: number;
  remaining: number;
  nextSerial: number | null;
  nextEstimatedAt: string | null;
  fee: number;
  hospital: { id: string; name: string; city: string };
  room: string | null;
}

export interface Booked {
  id: string;
  queueId: string;
  serial: number;
  date: string;
  estimatedAt: string;
  status: string;
  trackingToken: string;
}
