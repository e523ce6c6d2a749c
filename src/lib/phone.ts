import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';
import { AppError } from '../errors.js';

/** Normalises a phone number to E.164; national numbers are read in `region`. */
export function toE164(input: string, region: CountryCode, field = 'phone'): string {
  const parsed = parsePhoneNumberFromString(input, region);
  if (!parsed?.isValid()) {
    throw new AppError('VALIDATION_FAILED', `${field} is not a valid phone number`, [
      { field, message: 'is not a valid phone number' },
    ]);
  }
  return parsed.number;
}

/** "+8801711****78": enough for staff to recognise, not enough to leak. */
export function maskPhone(phone: string): string {
  return phone.length <= 6 ? '***' : `${phone.slice(0, phone.length - 6)}****${phone.slice(-2)}`;
}

export function maskEmail(email: string): string {
  const [local, domain] = email.split('@');
  return `${local.slice(0, 1)}***@${domain ?? ''}`;
}
