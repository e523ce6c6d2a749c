// What a person's name and date of birth must be, wherever one is entered (registration, the own profile,
// dependents, patients registered at the desk). The schemas refuse what is wrong on its face; the date of
// birth's upper bound moves with the clock, so services check it with checkDateOfBirth.
import { Type } from '@sinclair/typebox';
import { invalidField } from '../errors.js';

/** Nobody alive was born before this; an earlier date is a typing slip (19 for 1990). */
export const EARLIEST_BIRTH_DATE = '1900-01-01';

/**
 * At least one letter or digit: a name of spaces, zero-width characters or punctuation alone is refused
 * (`\p{L}` covers every script, Bengali included).
 */
export const PersonName = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: '[\\p{L}\\p{N}]',
  description: 'A name with at least one letter or digit',
});

export const DateOfBirth = Type.String({
  format: 'date',
  formatMinimum: EARLIEST_BIRTH_DATE,
  description: `YYYY-MM-DD, from ${EARLIEST_BIRTH_DATE} to today`,
});

/** The latest date that is today somewhere on Earth (UTC+14), so no zone's "today" is refused. */
function latestToday(now: Date): string {
  return new Date(now.getTime() + 14 * 3_600_000).toISOString().slice(0, 10);
}

/** Refuses a date of birth in the future (by the injected clock) with 400 VALIDATION_FAILED naming the field. */
export function checkDateOfBirth(value: string | null | undefined, now: Date, field: string): void {
  if (!value) return;
  if (value > latestToday(now)) throw invalidField(field, 'must not be in the future');
  if (value < EARLIEST_BIRTH_DATE) throw invalidField(field, `must not be before ${EARLIEST_BIRTH_DATE}`);
}
