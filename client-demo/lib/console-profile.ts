// The doctor console's profile and weekly sessions: the bio and experience, the sessions with edit and
// remove, and a form to add one.
import { ApiError, accessToken, api, type PageOf, refreshSession } from './api.js';
import type { DoctorProfile } from './directory.js';
import { formValues, h, render, toast } from './dom.js';
import { type ErrorContext, errorText } from './errors.js';
import { currencyOf, loadCurrencies, money } from './money.js';
import { hospitals } from './queues.js';
import { field, select } from './widgets.js';

const WEEKDAYS = ['', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

interface SessionRow {
  id: string;
  hospital: { id: string; name: string };
  weekday: number;
  start: string;
  end: string;
  slotMinutes: number;
  capacity: number;
  room: string | null;
  fee: number;
  /** `pending` until the hospital (its staff or an admin) confirms the doctor sits there; not bookable till then. */
  status?: 'pending' | 'confirmed';
}

/** Sends a change the doctor made; a toast says it is done, or why not. */
async function attempt(
  send: () => Promise<unknown>,
  done: string,
  after?: () => Promise<void>,
  context?: ErrorContext,
) {
  try {
    await send();
    toast(done);
    void after?.();
  } catch (err) {
    toast(errorText(err, context), 'error');
  }
}

/** An onsubmit handler: sends the form's values through attempt instead of reloading the page. */
function sending(
  send: (values: Record<string, string>) => Promise<unknown>,
  done: string,
  after?: () => Promise<void>,
  context?: ErrorContext,
) {
  return (e: Event) => {
    e.preventDefault();
    const values = formValues(e.target as HTMLFormElement);
    return attempt(() => send(values), done, after, context);
  };
}

/** Required, with the doctor's usual hospital (or the only one) chosen: a blank one is never sent. */
function hospitalSelect(options: [string, string][], sessions: SessionRow[]) {
  const usual = sessions.map((s) => s.hospital.name);
  const preferred =
    options.length === 1
      ? options[0][0]
      : (options.find(([, label]) => usual.some((name) => label.startsWith(`${name},`)))?.[0] ?? '');
  const el = select('hospitalId', [['', 'Choose a hospital'], ...options], preferred);
  el.required = true;
  return el;
}

interface CatalogItem {
  id: string;
  name: string;
}

/** Specializations, qualifications and photo: what an admin verifies, so a notice says it is pending. */
async function credentialsForm(
  doctorId: string,
  profile: DoctorProfile | null,
  refresh: () => Promise<void>,
) {
  const [specs, quals] = await Promise.all([
    api.get<PageOf<CatalogItem>>('/specializations?limit=100').catch(() => ({ items: [] as CatalogItem[] })),
    api.get<PageOf<CatalogItem>>('/qualifications?limit=100').catch(() => ({ items: [] as CatalogItem[] })),
  ]);
  const mine = new Set(profile?.specializations.map((x) => x.id) ?? []);
  const message = h('div', { role: 'alert' });
  const qualRow = (q?: DoctorProfile['qualifications'][number]) => {
    const row = h(
      'div',
      { class: 'fields qualification' },
      field(
        'qualificationId',
        'Qualification',
        select(
          'qualificationId',
          [['', 'None'], ...quals.items.map((x): [string, string] => [x.id, x.name])],
          q?.qualificationId ?? '',
        ),
      ),
      field('institute', 'Institute', h('input', { value: q?.institute ?? '', maxlength: '200' })),
      field('year', 'Year', h('input', { type: 'number', min: '1900', max: '2200', value: q?.year ?? '' })),
    );
    return row;
  };
  const qualList = h(
    'div',
    { class: 'stack' },
    (profile?.qualifications ?? []).map((q) => qualRow(q)),
  );
  if (!profile?.qualifications.length) qualList.append(qualRow());
  const photo = h('input', { type: 'file', name: 'photo', accept: 'image/jpeg,image/png,image/webp' });
  const form = h(
    'form',
    {
      class: 'card',
      'data-testid': 'credentials',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        render(message);
        const specializationIds = [
          ...form.querySelectorAll<HTMLInputElement>('input[name=specializationId]:checked'),
        ].map((i) => i.value);
        const qualifications = [...qualList.querySelectorAll<HTMLElement>('.qualification')]
          .map((row) => {
            const value = (name: string) =>
              (row.querySelector(`[name=${name}]`) as HTMLInputElement).value.trim();
            return {
              qualificationId: value('qualificationId'),
              ...(value('institute') ? { institute: value('institute') } : {}),
              year: value('year') ? Number(value('year')) : null,
            };
          })
          .filter((q) => q.qualificationId);
        try {
          await api.patch(`/doctors/${doctorId}`, { specializationIds, qualifications });
          const file = photo.files?.[0];
          if (file) await uploadPhoto(doctorId, file);
          toast('Profile sent for verification');
          await refresh();
        } catch (err) {
          render(
            message,
            h(
              'p',
              { class: 'notice error' },
              errorText(err, { PAYLOAD_TOO_LARGE: 'The photo is too large (at most 2 MB).' }),
            ),
          );
        }
      },
    },
    h('h2', { style: 'margin-top:0' }, 'Specialization, qualifications and photo'),
    profile && !profile.verified
      ? h(
          'p',
          { class: 'notice warn', 'data-testid': 'awaiting-verification' },
          'Awaiting verification: an administrator checks these details before patients can find and book you.',
        )
      : h('p', { class: 'muted' }, 'Verified. Patients see these details on your profile.'),
    h(
      'fieldset',
      { class: 'plain' },
      h('legend', {}, 'Specializations'),
      h(
        'div',
        { class: 'row' },
        specs.items.map((x) =>
          h(
            'label',
            { class: 'reason-option' },
            h('input', { type: 'checkbox', name: 'specializationId', value: x.id, checked: mine.has(x.id) }),
            ` ${x.name}`,
          ),
        ),
      ),
    ),
    h('fieldset', { class: 'plain' }, h('legend', {}, 'Qualifications'), qualList),
    h(
      'button',
      { type: 'button', class: 'secondary small', onclick: () => qualList.append(qualRow()) },
      'Add a qualification',
    ),
    field('photo', 'Photo (JPEG, PNG or WebP)', photo),
    message,
    h('button', { type: 'submit' }, 'Save and send for verification'),
  );
  return form;
}

/** The photo goes as multipart/form-data, which the JSON client does not send. */
async function uploadPhoto(doctorId: string, file: File) {
  const body = new FormData();
  body.append('photo', file);
  const send = () =>
    fetch(`/v1/doctors/${doctorId}/photo`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken() ?? ''}` },
      body,
    });
  let res = await send();
  if (res.status === 401 && (await refreshSession())) res = await send();
  if (!res.ok) {
    const data = await res.json().catch(() => ({}));
    throw new ApiError(res.status, data.code ?? 'ERROR', data.message ?? res.statusText, data.details);
  }
}

export interface ProfilePanel {
  panel: HTMLElement;
  /** Reads the profile and sessions and renders both forms; called each time the tab opens and after changes. */
  open: () => Promise<void>;
}

export function profilePanel(doctorId: string | null | undefined): ProfilePanel {
  const panel = h('div', { hidden: true });

  async function mountProfile() {
    if (!doctorId) return;
    const profile = await api.get<DoctorProfile>(`/doctors/${doctorId}`).catch(() => null);
    const sessions = await api
      .get<PageOf<SessionRow>>(`/doctors/${doctorId}/sessions`)
      .catch(() => ({ items: [] as SessionRow[] }));
    await loadCurrencies(sessions.items.map((s) => s.hospital.id));
    const editor = h('div', { 'data-testid': 'session-editor' });
    const hospitalOptions = (await hospitals().catch(() => [])).map((x): [string, string] => [
      x.id,
      `${x.name}, ${x.city}`,
    ]);
    const profileForm = h(
      'form',
      {
        class: 'card',
        onsubmit: sending(
          (v) =>
            api.patch(`/doctors/${doctorId}`, {
              bio: v.bio ?? '',
              experienceYears: v.experienceYears ? Number(v.experienceYears) : null,
            }),
          'Profile saved',
        ),
      },
      h('h2', { style: 'margin-top:0' }, 'My profile'),
      field('bio', 'About me', h('textarea', {}, profile?.bio ?? '')),
      field(
        'experienceYears',
        'Years of experience',
        h('input', { type: 'number', min: '0', max: '80', value: profile?.experienceYears ?? '' }),
      ),
      h('button', { type: 'submit' }, 'Save profile'),
    );
    const sessionForm = h(
      'form',
      {
        class: 'card',
        onsubmit: sending(
          (v) =>
            api.post(`/doctors/${doctorId}/sessions`, {
              hospitalId: v.hospitalId,
              weekday: Number(v.weekday),
              start: v.start,
              end: v.end,
              slotMinutes: Number(v.slotMinutes),
              ...(v.room ? { room: v.room } : {}),
              ...(v.fee ? { fee: Number(v.fee) } : {}),
            }),
          'Session added',
          mountProfile,
          { CONFLICT: 'This overlaps another of your sessions. Choose other hours.' },
        ),
      },
      h('h2', { style: 'margin-top:0' }, 'Weekly sessions'),
      sessions.items.length
        ? h(
            'table',
            {},
            h(
              'tbody',
              {},
              sessions.items.map((s) =>
                h(
                  'tr',
                  { 'data-session-id': s.id },
                  h('td', {}, WEEKDAYS[s.weekday]),
                  h('td', {}, `${s.start}–${s.end}`),
                  h(
                    'td',
                    {},
                    s.hospital.name,
                    s.status === 'pending'
                      ? h(
                          'span',
                          { class: 'muted' },
                          ' · waiting for the hospital to confirm (not bookable yet)',
                        )
                      : '',
                  ),
                  h('td', {}, s.room ? `room ${s.room}` : ''),
                  h('td', {}, `${s.capacity} × ${s.slotMinutes} min`),
                  h('td', {}, money(s.fee, s.hospital.id)),
                  h(
                    'td',
                    { class: 'row' },
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'secondary small',
                        'aria-label': `Edit ${WEEKDAYS[s.weekday]} ${s.start}–${s.end}`,
                        onclick: () => {
                          render(editor, sessionEditor(s));
                          (editor.querySelector('input') as HTMLInputElement | null)?.focus();
                        },
                      },
                      'Edit',
                    ),
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'secondary small',
                        'aria-label': `Remove ${WEEKDAYS[s.weekday]} ${s.start}–${s.end}`,
                        onclick: () =>
                          attempt(() => api.del(`/sessions/${s.id}`), 'Session removed', mountProfile),
                      },
                      'Remove',
                    ),
                  ),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No weekly sessions yet.'),
      editor,
      h('h3', { style: 'margin-top:1rem' }, 'Add a session'),
      h(
        'div',
        { class: 'fields' },
        field('hospitalId', 'Hospital', hospitalSelect(hospitalOptions, sessions.items)),
        field(
          'weekday',
          'Day',
          select(
            'weekday',
            WEEKDAYS.slice(1).map((d, i): [string, string] => [String(i + 1), d]),
          ),
        ),
        field('start', 'Starts', h('input', { type: 'time', value: '09:00', required: true })),
        field('end', 'Ends', h('input', { type: 'time', value: '12:00', required: true })),
        field(
          'slotMinutes',
          'Minutes per patient',
          h('input', { type: 'number', min: '1', value: '10', required: true }),
        ),
        field('room', 'Room', h('input', {})),
        field('fee', "Fee (in the hospital's currency)", h('input', { type: 'number', min: '0' })),
      ),
      h('button', { type: 'submit' }, 'Add session'),
    );
    const credentials = doctorId ? await credentialsForm(doctorId, profile, mountProfile) : null;
    render(panel, h('div', { class: 'stack' }, profileForm, credentials, sessionForm));
  }

  /** Edits one weekly session; a change that would cancel bookings is refused first and then offered. */
  function sessionEditor(s: SessionRow) {
    const message = h('div', { role: 'alert' });
    const save = async (cancelAffected: boolean) => {
      const v = formValues(form);
      // Only what changed: an unchanged capacity left out lets the server refit it to new hours.
      const edited: Record<string, unknown> = {
        start: v.start,
        end: v.end,
        slotMinutes: Number(v.slotMinutes),
        capacity: Number(v.capacity),
        room: v.room ?? null,
        fee: Number(v.fee ?? 0),
      };
      const body: Record<string, unknown> = Object.fromEntries(
        Object.entries(edited).filter(([k, value]) => value !== s[k as keyof SessionRow]),
      );
      if (cancelAffected)
        Object.assign(body, { cancelAffected: true, reason: 'The doctor changed this session' });
      try {
        const result = await api.patch<{ cancelledAppointmentIds: string[] }>(`/sessions/${s.id}`, body);
        const n = result.cancelledAppointmentIds.length;
        toast(n ? `Session saved; ${n} booking(s) cancelled and the patients told` : 'Session saved');
        void mountProfile();
      } catch (err) {
        const affected =
          err instanceof ApiError && err.code === 'CONFLICT'
            ? (err.details as { affectedAppointments?: number } | undefined)?.affectedAppointments
            : undefined;
        if (!affected) {
          render(message, h('p', { class: 'notice error' }, errorText(err)));
          return;
        }
        render(
          message,
          h(
            'div',
            { class: 'notice warn', 'data-testid': 'affected-bookings' },
            h(
              'p',
              { style: 'margin-top:0' },
              `Not saved: this change would cancel ${affected} booked appointment(s). `,
              'Keep the times, or cancel those bookings (each patient is told) and save.',
            ),
            h(
              'button',
              {
                type: 'button',
                class: 'warn',
                onclick: () => {
                  if (confirm(`Cancel ${affected} booking(s) and save the new session times?`))
                    void save(true);
                },
              },
              `Cancel ${affected} affected booking(s) and save`,
            ),
          ),
        );
      }
    };
    const form = h(
      'form',
      {
        class: 'card subtle',
        'aria-labelledby': 'edit-session-title',
        onsubmit: (e: Event) => {
          e.preventDefault();
          void save(false);
        },
      },
      h(
        'h3',
        { id: 'edit-session-title', style: 'margin-top:0' },
        `Edit ${WEEKDAYS[s.weekday]} at ${s.hospital.name}`,
      ),
      h(
        'div',
        { class: 'fields' },
        field('start', 'Starts', h('input', { type: 'time', value: s.start, required: true })),
        field('end', 'Ends', h('input', { type: 'time', value: s.end, required: true })),
        field(
          'slotMinutes',
          'Minutes per patient',
          h('input', { type: 'number', min: '1', value: s.slotMinutes, required: true }),
        ),
        field(
          'capacity',
          'Patients',
          h('input', { type: 'number', min: '1', value: s.capacity, required: true }),
        ),
        field('room', 'Room', h('input', { value: s.room ?? '' })),
        field(
          'fee',
          `Fee (${currencyOf(s.hospital.id)})`,
          h('input', { type: 'number', min: '0', value: s.fee }),
        ),
      ),
      message,
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'submit' }, 'Save changes'),
        h('button', { type: 'button', class: 'secondary', onclick: () => form.remove() }, 'Close'),
      ),
    );
    return form;
  }

  return { panel, open: mountProfile };
}
