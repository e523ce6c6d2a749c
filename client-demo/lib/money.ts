// Fees in their hospital's currency. Hospitals carry an ISO 4217 `currency` (GET /v1/hospitals/:id); a page
// loads the currencies of the hospitals it shows once (loadCurrencies) and then formats synchronously.
import { api } from './api.js';

/** Until a hospital's currency is loaded (or when it cannot be), fees read in the server's default. */
export const DEFAULT_CURRENCY = 'BDT';

const currencies = new Map<string, string>();

export async function loadCurrencies(hospitalIds: Iterable<string>): Promise<void> {
  const missing = [...new Set(hospitalIds)].filter((id) => !currencies.has(id));
  await Promise.all(
    missing.map(async (id) => {
      const hospital = await api.get<{ currency: string }>(`/hospitals/${id}`).catch(() => null);
      if (hospital) currencies.set(id, hospital.currency);
    }),
  );
}

export function currencyOf(hospitalId: string | null | undefined): string {
  return (hospitalId && currencies.get(hospitalId)) || DEFAULT_CURRENCY;
}

/** 'BDT 500' for an amount billed by that hospital, or in an explicit currency code. */
export function money(amount: number, hospitalId: string | null | undefined, currency?: string): string {
  return `${currency ?? currencyOf(hospitalId)} ${amount.toLocaleString('en-US', { maximumFractionDigits: 2 })}`;
}
