// A small accessibility audit run inside a page: lang, landmarks, a label for every form control, text
// contrast (WCAG AA, against the first opaque background behind the text) and a visible keyboard focus ring.
import type { Page } from 'playwright-core';

export interface AuditOptions {
  /** The page has no top bar (the lobby screen shows only its own header). */
  noNav?: boolean;
}

export async function auditPage(page: Page, options: AuditOptions = {}): Promise<string[]> {
  // tsx compiles this file keeping function names through a `__name` helper the page does not have.
  await page.evaluate('globalThis.__name ??= (fn) => fn');
  const problems = await page.evaluate((opts) => {
    const out: string[] = [];
    const doc = document.documentElement;
    if (!doc.lang) out.push('html has no lang attribute');
    if (document.querySelectorAll('main').length !== 1) out.push('page needs exactly one <main>');
    if (!opts.noNav && !document.querySelector('nav[aria-label], nav[aria-labelledby]'))
      out.push('no labelled <nav>');
    if (!document.querySelector('h1')) out.push('no <h1>');

    const visible = (el: Element) => {
      const box = (el as HTMLElement).getBoundingClientRect();
      const style = getComputedStyle(el);
      return box.width > 0 && box.height > 0 && style.visibility !== 'hidden' && style.display !== 'none';
    };
    const describe = (el: Element) => {
      const id = el.id ? `#${el.id}` : '';
      const name = el.getAttribute('name') ? `[name=${el.getAttribute('name')}]` : '';
      const text = (el.textContent ?? '').trim().slice(0, 30);
      return `<${el.tagName.toLowerCase()}${id}${name}>${text ? ` "${text}"` : ''}`;
    };

    for (const el of document.querySelectorAll('input, select, textarea')) {
      const control = el as HTMLInputElement;
      if (control.type === 'hidden' || !visible(control)) continue;
      const labelled =
        (control.labels && control.labels.length > 0) ||
        control.getAttribute('aria-label') ||
        control.getAttribute('aria-labelledby');
      if (!labelled) out.push(`unlabelled control ${describe(control)}`);
    }
    for (const el of document.querySelectorAll('button, a[href]')) {
      if (!visible(el)) continue;
      const name = (el.getAttribute('aria-label') ?? el.textContent ?? '').trim();
      if (!name) out.push(`control without a name ${describe(el)}`);
    }

    // Contrast of every visible text run against the first opaque background behind it.
    const rgb = (color: string) => {
      const m = color.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const [r, g, b, a = '1'] = m[1].split(/[ ,/]+/).filter(Boolean);
      return [Number(r), Number(g), Number(b), Number(a)];
    };
    const luminance = ([r, g, b]: number[]) => {
      const f = (c: number) => {
        const s = c / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const backgroundOf = (el: Element | null): number[] => {
      for (let node = el; node; node = node.parentElement) {
        const c = rgb(getComputedStyle(node).backgroundColor);
        if (c && c[3] >= 0.99) return c;
      }
      return [255, 255, 255, 1];
    };
    const seen = new Set<Element>();
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!el || seen.has(el) || !(node.textContent ?? '').trim()) continue;
      seen.add(el);
      if (
        !visible(el) ||
        el.closest('[disabled], .skip-link, .visually-hidden, noscript, [aria-hidden=true]')
      )
        continue;
      const style = getComputedStyle(el);
      const fg = rgb(style.color);
      if (!fg) continue;
      const bg = backgroundOf(el);
      const blended = fg.slice(0, 3).map((c, i) => c * fg[3] + bg[i] * (1 - fg[3]));
      const [l1, l2] = [luminance(blended), luminance(bg)].sort((a, b) => b - a);
      const ratio = (l1 + 0.05) / (l2 + 0.05);
      const size = Number.parseFloat(style.fontSize);
      const bold = Number(style.fontWeight) >= 700;
      const large = size >= 24 || (bold && size >= 18.66);
      const needed = large ? 3 : 4.5;
      if (ratio < needed)
        out.push(
          `contrast ${ratio.toFixed(2)} < ${needed} for ${describe(el)} (${style.color} on rgb(${bg.slice(0, 3)}))`,
        );
    }
    return out;
  }, options);

  // Keyboard focus: the first Tab lands on the skip link, which must show and carry a ring.
  await page.locator('body').focus();
  await page.keyboard.press('Tab');
  const ring = await page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return 'nothing took the focus';
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (box.left < 0 || box.width === 0) return `focused ${el.tagName} is off screen`;
    if (style.outlineStyle === 'none' || Number.parseFloat(style.outlineWidth) < 2)
      return `focused ${el.tagName} has no visible outline`;
    return null;
  });
  if (ring) problems.push(ring);
  return problems;
}
