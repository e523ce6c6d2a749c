// The pages' HTTP client: JSON in and out, the access token from localStorage, one refresh-and-retry on 401.
export interface User {
  id: string;
  email: string;
  name: string;
  phone: string | null;
  role: 'patient' | 'doctor' | 'staff' | 'admin';
  doctorId?: string | null;
  hospitalId?: string | null;
  profileId?: string | null;
}

interface Session {
  accessToken: string;
  refreshToken: string;
  user: User;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

const KEY = 'carequeue.session';

export function session(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function currentUser(): User | null {
  return session()?.user ?? null;
}

export function accessToken(): string | null {
  return session()?.accessToken ?? null;
}

export function saveSession(value: Session): void {
  localStorage.setItem(KEY, JSON.stringify(value));
}

export async function signOut(): Promise<void> {
  const current = session();
  localStorage.removeItem(KEY);
  if (current)
    await request('POST', '/auth/logout', { refreshToken: current.refreshToken }, { auth: false }).catch(
      () => {},
    );
}

let refreshing: Promise<boolean> | null = null;

/** Trades the refresh token for a new pair; false (and signed out) when it is no longer valid. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    const current = session();
    if (!current) return false;
    const res = await fetch('/v1/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: current.refreshToken }),
    }).catch(() => null);
    if (res?.ok) {
      saveSession((await res.json()) as Session);
      return true;
    }
    if (res && (res.status === 401 || res.status === 400)) localStorage.removeItem(KEY);
    return false;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

export interface RequestOptions {
  auth?: boolean;
  ifMatch?: number;
  idempotencyKey?: string;
}

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  options: RequestOptions = {},
): Promise<T> {
  const send = () => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const token = options.auth === false ? null : accessToken();
    if (token) headers.authorization = `Bearer ${token}`;
    if (options.ifMatch !== undefined) headers['if-match'] = String(options.ifMatch);
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    return fetch(`/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  };
  let res: Response;
  try {
    res = await send();
  } catch {
    throw new ApiError(0, 'NETWORK', 'The server cannot be reached. Check the connection and try again.');
  }
  if (res.status === 401 && options.auth !== false && session() && (await refreshSession()))
    res = await send();
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const data = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    throw new ApiError(res.status, data?.code ?? 'ERROR', data?.message ?? res.statusText, data?.details);
  }
  return data as T;
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => request<T>('GET', path, undefined, options),
  post: <T>(path: string, body: unknown = {}, options?: RequestOptions) =>
    request<T>('POST', path, body, options),
  patch: <T>(path: string, body: unknown, options?: RequestOptions) =>
    request<T>('PATCH', path, body, options),
  put: <T>(path: string, body: unknown = {}, options?: RequestOptions) =>
    request<T>('PUT', path, body, options),
  del: <T>(path: string, options?: RequestOptions) => request<T>('DELETE', path, undefined, options),
};

export interface PageOf<T> {
  items: T[];
  nextCursor: string | null;
}

/** Query string from an object, skipping empty values. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') search.set(k, String(v));
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Sends the visitor to the sign-in page unless signed in with one of `roles`. */
export function requireUser(...roles: User['role'][]): User | null {
  const user = currentUser();
  if (!user || (roles.length > 0 && !roles.includes(user.role))) {
    location.assign(`/signin?next=${encodeURIComponent(location.pathname + location.search)}`);
    return null;
  }
  return user;
}
