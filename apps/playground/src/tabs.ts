// WAI-ARIA tabs: click or Enter/Space selects; Left/Right/Home/End move between tabs (roving tabindex).

/** Wires the tabs of `tablist`; `onSelect` hears the id of the panel shown. */
export function setupTabs(tablist: HTMLElement, onSelect: (panelId: string) => void = () => {}): void {
  const tabs = [...tablist.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
  const select = (tab: HTMLButtonElement, focus: boolean) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      const panel = document.getElementById(t.getAttribute('aria-controls') ?? '');
      if (panel) panel.hidden = !on;
    }
    if (focus) tab.focus();
    onSelect(tab.getAttribute('aria-controls') ?? '');
  };
  for (const [i, tab] of tabs.entries()) {
    tab.addEventListener('click', () => select(tab, false));
    tab.addEventListener('keydown', (e) => {
      const next =
        e.key === 'ArrowRight'
          ? tabs[(i + 1) % tabs.length]
          : e.key === 'ArrowLeft'
            ? tabs[(i - 1 + tabs.length) % tabs.length]
            : e.key === 'Home'
              ? tabs[0]
              : e.key === 'End'
                ? tabs[tabs.length - 1]
                : null;
      if (next) {
        e.preventDefault();
        select(next, true);
      }
    });
  }
}
