// Fees with their currency. The API gives amounts only (no hospital has a currency field yet), and every
// hospital here bills in taka; when the API names a currency, read it here.
export const CURRENCY = 'BDT';

export function money(amount: number, currency = CURRENCY): string {
  return `${currency} ${amount.toLocaleString('en-US', { maximumFractionDigits: 2 })}`;
}
